namespace SecureChat.Testing.Honest;

/// <summary>Honest members chatting while an attack runs: each round every member sends one numbered line.</summary>
public sealed class HonestChat(IReadOnlyList<HonestMember> members, string tag)
{
    private readonly List<(string Sender, string Text)> _sent = [];

    public int Sent => _sent.Count;

    /// <summary>Every member sends one line; <paramref name="padTo"/> makes it that long (big frames fill queues fast).</summary>
    public async Task RoundAsync(int padTo = 0)
    {
        foreach (var member in members)
        {
            var text = $"{tag} {member.Id} #{_sent.Count} ";
            text = text.PadRight(padTo, 'x');
            await member.SendTextAsync(text);
            _sent.Add((member.Id, text));
        }
    }

    /// <summary>Every line sent so far reached every other member, and nothing was refused, held back or lost.</summary>
    public async Task AssertNothingLostAsync()
    {
        await Eventually.TrueAsync(
            () => _sent.All(s => members.Where(m => m.Id != s.Sender).All(m => m.HasDelivered(s.Sender, s.Text))),
            $"all {_sent.Count} honest lines reached every other member");
        foreach (var member in members)
        {
            Assert.Empty(member.RefusedMessages);
            Assert.False(member.Disconnected, $"{member.Id} was disconnected");
            Assert.Equal(_sent.Count(s => s.Sender != member.Id), member.Delivered.Count(d => d.Text.StartsWith(tag + " ", StringComparison.Ordinal)));
        }
    }
}
