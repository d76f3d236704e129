using SecureChat.Cli.Chat;

namespace SecureChat.Client.Tests.Cli;

public sealed class ChatInputTests
{
    [Theory]
    [InlineData("hello there", "hello there")]
    [InlineData("/msg hello there", "hello there")]
    [InlineData("//slash first", "/slash first")]
    public void Text_and_msg_become_a_say(string line, string expected) =>
        Assert.Equal(expected, Assert.IsType<ChatInput.Say>(ChatInput.Parse(line)).Text);

    [Fact]
    public void Commands_are_recognised_with_their_arguments()
    {
        Assert.Equal("lobby", Assert.IsType<ChatInput.JoinRoom>(ChatInput.Parse("/join lobby")).RoomId);
        Assert.Equal("lobby", Assert.IsType<ChatInput.LeaveRoom>(ChatInput.Parse("/leave lobby")).RoomId);
        Assert.Null(Assert.IsType<ChatInput.LeaveRoom>(ChatInput.Parse("/leave")).RoomId);
        Assert.Equal(new ChatInput.TrustKey("bob"), ChatInput.Parse("/trust bob"));
        Assert.Equal(new ChatInput.TrustKey("bob", "12345 67890"), ChatInput.Parse("/trust bob  12345 67890 "));
        Assert.Equal(new ChatInput.SendQueued(null), ChatInput.Parse("/send-queued"));
        Assert.Equal(new ChatInput.DropQueued("lobby"), ChatInput.Parse("/drop-queued lobby"));
        Assert.IsType<ChatInput.ListRooms>(ChatInput.Parse("/rooms"));
        Assert.IsType<ChatInput.Who>(ChatInput.Parse("/WHO"));
        Assert.IsType<ChatInput.ShowFingerprint>(ChatInput.Parse("/fingerprint"));
        Assert.IsType<ChatInput.ShowCode>(ChatInput.Parse("/code"));
        Assert.IsType<ChatInput.Quit>(ChatInput.Parse("/quit"));
        Assert.IsType<ChatInput.Help>(ChatInput.Parse("/help"));
        Assert.IsType<ChatInput.Nothing>(ChatInput.Parse("   "));
        Assert.IsType<ChatInput.Quit>(ChatInput.Parse(null));
        Assert.Equal(new ChatInput.Invite("carol"), ChatInput.Parse("/invite carol"));
        Assert.Equal(new ChatInput.Remove("carol"), ChatInput.Parse("/remove  carol "));
        Assert.Equal(new ChatInput.Remove("carol"), ChatInput.Parse("/kick carol"));
        Assert.Equal(new ChatInput.SetPolicy(Core.Wire.Admission.Invite), ChatInput.Parse("/policy invite"));
        Assert.Equal(new ChatInput.SetPolicy(Core.Wire.Admission.Open), ChatInput.Parse("/policy OPEN"));
    }

    [Theory]
    [InlineData("/join", "usage: /join ROOM")]
    [InlineData("/join a b", "usage: /join ROOM")]
    [InlineData("/trust", "usage: /trust ID [FINGERPRINT] (the fingerprint's digits; spaces are ignored)")]
    [InlineData("/trust bob 12345 abcde", "usage: /trust ID [FINGERPRINT] (the fingerprint's digits; spaces are ignored)")]
    [InlineData("/send-queued a b", "usage: /send-queued [ROOM]")]
    [InlineData("/msg", "usage: /msg TEXT")]
    [InlineData("/invite", "usage: /invite ID")]
    [InlineData("/remove a b", "usage: /remove ID")]
    [InlineData("/kick", "usage: /kick ID")]
    [InlineData("/policy closed", "usage: /policy open|invite")]
    [InlineData("/frobnicate now", "unknown command /frobnicate; type /help for the list")]
    public void Bad_input_gets_one_clear_line(string line, string problem)
    {
        var invalid = Assert.IsType<ChatInput.Invalid>(ChatInput.Parse(line));
        Assert.Equal(problem, invalid.Problem);
        Assert.DoesNotContain('\n', invalid.Problem);
    }
}
