using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Testing.RawClients;

/// <summary>Drives the room protocol by hand over real connections: the first client creates the room and admits the rest.</summary>
public static class ChatRoom
{
    /// <summary>Returns the room's epoch after everyone is in, and its transcript hash (the next commit's previous one).</summary>
    public static async Task<(ulong Epoch, ByteString TranscriptHash)> FormAsync(string roomId, IReadOnlyList<(TestClient Client, TestMember Member)> members)
    {
        var (creator, creatorMember) = members[0];
        await creator.SendAsync(Frames.Join(creator.Id, roomId, creatorMember.BundleFor(roomId)));
        await creator.ExpectAsync(MessageType.Joined);
        var request = (await creator.ExpectAsync(MessageType.CommitRequest)).CommitRequest;
        var creation = creatorMember.CreateRoom(roomId, request.NewEpoch);
        await creator.SendAsync(Frames.Commit(creator.Id, roomId, request.NewEpoch, creation));
        var epoch = (await creator.ExpectAsync(MessageType.Commit)).Epoch;
        var transcript = TestMember.TranscriptHashOf(creation);
        var bundles = new List<SignedBundle> { creatorMember.BundleFor(roomId) };

        for (var i = 1; i < members.Count; i++)
        {
            var (joiner, joinerMember) = members[i];
            var joinerBundle = joinerMember.BundleFor(roomId);
            await joiner.SendAsync(Frames.Join(joiner.Id, roomId, joinerBundle));
            await joiner.ExpectAsync(MessageType.Joined);
            request = (await creator.ExpectAsync(MessageType.CommitRequest)).CommitRequest;
            bundles.Add(joinerBundle);
            var commit = creatorMember.Commit(roomId, request.NewEpoch, bundles, added: [joinerBundle], previous: transcript);
            transcript = TestMember.TranscriptHashOf(commit);
            await creator.SendAsync(Frames.Commit(creator.Id, roomId, request.NewEpoch, commit));
            for (var j = 0; j <= i; j++)
            {
                epoch = (await members[j].Client.ExpectAsync(MessageType.Commit)).Epoch;
            }
        }

        return (epoch, transcript);
    }
}
