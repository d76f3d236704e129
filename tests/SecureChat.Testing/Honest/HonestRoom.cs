using SecureChat.Testing.Hosting;

namespace SecureChat.Testing.Honest;

/// <summary>A room of honest engine-driven members on the real server, and their chat.</summary>
public sealed class HonestRoom : IAsyncDisposable
{
    private HonestRoom(List<HonestMember> members, string tag)
    {
        Members = members;
        Chat = new HonestChat(members, tag);
    }

    public IReadOnlyList<HonestMember> Members { get; }

    public HonestChat Chat { get; }

    public HonestMember this[string id] => Members.Single(m => m.Id == id);

    public static async Task<HonestRoom> FormAsync(TestServer server, string roomId, string tag, ByteLog? record = null, params string[] ids)
    {
        var members = await HonestMember.FormRoomAsync(server, roomId, record, ids.Length == 0 ? ["alice", "bob", "carol"] : ids);
        return new HonestRoom(members, tag);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await member.DisposeAsync();
        }
    }
}
