using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Server.Rooms;
using SecureChat.Testing.RawClients;

namespace SecureChat.Server.Tests.Rooms;

public sealed class CommitCheckTests : IDisposable
{
    private const string Room = "lobby";
    private readonly TestMember _alice = new("alice");
    private readonly TestMember _bob = new("bob");
    private readonly TestMember _carol = new("carol");

    [Fact]
    public void A_waiting_joiner_creates_an_empty_room_with_itself_alone()
    {
        var room = View(epoch: 0, roster: [], pendingAdds: [_alice]);

        var commit = _alice.CreateRoom(Room);

        var ok = CommitCheck.TryAccept(room, "alice", commit.Content, commit.Signature, out var accepted, out var reason);

        Assert.True(ok, reason);
        Assert.Equal(1ul, accepted.Epoch);
        Assert.Equal(["alice"], accepted.Roster.Select(b => b.ClientId));
        Assert.Equal(["alice"], accepted.Added);
    }

    [Fact]
    public void Creation_continues_the_epoch_count_of_a_room_that_emptied()
    {
        var room = View(epoch: 7, roster: [], pendingAdds: [_alice]);
        var commit = _alice.CreateRoom(Room, epoch: 8);

        Assert.True(CommitCheck.TryAccept(room, "alice", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.Equal(8ul, accepted.Epoch);
    }

    [Fact]
    public void Nobody_but_a_waiting_joiner_creates_a_room()
    {
        var room = View(epoch: 0, roster: [], pendingAdds: [_bob]);

        AssertRejected(room, "alice", _alice.CreateRoom(Room), "waiting joiner");
    }

    [Fact]
    public void A_creation_with_more_than_the_creator_is_rejected()
    {
        var room = View(epoch: 0, roster: [], pendingAdds: [_alice, _bob]);
        var commit = _alice.Commit(Room, 1, [_alice.Bundle, _bob.Bundle], added: [_alice.Bundle, _bob.Bundle]);

        AssertRejected(room, "alice", commit, "waiting joiner");
    }

    [Fact]
    public void A_member_adds_a_joiner_with_the_bundle_it_joined_with()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        Assert.True(CommitCheck.TryAccept(room, "alice", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.Equal(["alice", "bob"], accepted.Roster.Select(b => b.ClientId));
    }

    [Fact]
    public void A_commit_for_an_epoch_already_committed_is_rejected()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]);
        var stale = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(room, "alice", stale, "already committed");
    }

    [Fact]
    public void A_commit_skipping_an_epoch_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);

        AssertRejected(room, "alice", _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), "not the next epoch");
    }

    [Fact]
    public void A_commit_signed_by_someone_else_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);
        var byAlice = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);
        var signedByBob = _bob.Sign(byAlice.Content);

        AssertRejected(room, "alice", signedByBob, "signature");
    }

    [Fact]
    public void A_commit_by_a_non_member_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);
        var commit = _bob.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        AssertRejected(room, "bob", commit, "not in the room's roster");
    }

    [Fact]
    public void The_committer_id_must_be_the_sender()
    {
        var room = View(epoch: 1, roster: [_alice, _bob], pendingAdds: [_carol]);
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle], committerId: "bob");

        AssertRejected(room, "alice", commit, "committer id");
    }

    [Fact]
    public void A_commit_for_another_room_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);

        AssertRejected(room, "alice", _alice.Commit("elsewhere", 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), "another room");
    }

    [Fact]
    public void An_unsorted_roster_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);
        var commit = _alice.Commit(Room, 2, [_bob.Bundle, _alice.Bundle], added: [_bob.Bundle], sortRoster: false);

        AssertRejected(room, "alice", commit, "sorted");
    }

    [Fact]
    public void Swapping_a_members_bundle_for_another_key_is_rejected()
    {
        using var fakeBob = new TestMember("bob");
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]);
        var commit = _alice.Commit(Room, 3, [_alice.Bundle, fakeBob.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(room, "alice", commit, "known one");
    }

    [Fact]
    public void Adding_someone_who_did_not_join_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: []);
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        AssertRejected(room, "alice", commit, "nobody joined with");
    }

    [Fact]
    public void Removing_a_member_who_did_not_leave_is_rejected()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);
        var commit = _alice.Commit(Room, 3, [_alice.Bundle], removed: ["bob"]);

        AssertRejected(room, "alice", commit, "has not left");
    }

    [Fact]
    public void Removing_a_member_who_left_is_accepted()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: [], pendingRemoves: ["bob"]);
        var commit = _alice.Commit(Room, 3, [_alice.Bundle], removed: ["bob"]);

        Assert.True(CommitCheck.TryAccept(room, "alice", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.Equal(["bob"], accepted.Removed);
    }

    [Fact]
    public void A_roster_that_forgets_a_remaining_member_is_rejected()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]);
        var commit = _alice.Commit(Room, 3, [_alice.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(room, "alice", commit, "operations applied");
    }

    [Fact]
    public void A_roster_above_the_member_limit_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob], maxMembers: 1);

        AssertRejected(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), "exceeds");
    }

    [Fact]
    public void A_plain_rekey_keeps_the_roster()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);
        var commit = _bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true);

        Assert.True(CommitCheck.TryAccept(room, "bob", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.True(accepted.Rekey);
    }

    [Fact]
    public void A_committer_may_refresh_its_own_entry_with_the_same_identity_key_and_a_greater_key_id()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);
        var refreshed = _bob.RefreshedBundle(keyId: 2);
        var commit = _bob.Commit(Room, 3, [_alice.Bundle, refreshed], rekey: true);

        Assert.True(CommitCheck.TryAccept(room, "bob", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.Equal(refreshed.Content, accepted.Roster.Single(b => b.ClientId == "bob").Content);
    }

    [Fact]
    public void A_committer_may_not_refresh_someone_elses_entry()
    {
        using var fakeAlice = new TestMember("alice");
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);

        AssertRejected(room, "bob", _bob.Commit(Room, 3, [fakeAlice.RefreshedBundle(), _bob.Bundle], rekey: true), "known one");
    }

    [Fact]
    public void A_refresh_with_another_identity_key_or_no_greater_key_id_is_rejected()
    {
        using var otherBob = new TestMember("bob");
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);

        AssertRejected(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, otherBob.RefreshedBundle()], rekey: true), "known one");
        AssertRejected(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, _bob.RefreshedBundle(keyId: 1)], rekey: true), "known one");
    }

    [Fact]
    public void A_bundle_the_open_request_named_may_be_added_after_its_joiner_left()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: []) with { RequestedAdds = [Verified(_bob)] };
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        Assert.True(CommitCheck.TryAccept(room, "alice", commit.Content, commit.Signature, out var accepted, out var reason), reason);
        Assert.Equal(["bob"], accepted.Added);
    }

    [Fact]
    public void The_epoch_of_a_refused_commit_is_read_for_the_error()
    {
        Assert.Equal(7ul, CommitCheck.EpochOf(_alice.CreateRoom(Room, epoch: 7).Content));
        Assert.Equal(0ul, CommitCheck.EpochOf(ByteString.CopyFrom(0xFF)));
    }

    [Fact]
    public void A_rekey_that_also_changes_the_roster_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);

        AssertRejected(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle], rekey: true), "rekey");
    }

    [Fact]
    public void The_cipher_suite_of_a_room_cannot_change()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);

        AssertRejected(room, "alice", _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true, suite: CipherSuite.Chacha20Poly1305X25519Ed25519Sha256), "suite");
    }

    [Fact]
    public void Wraps_out_of_roster_order_are_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]);
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);
        var content = CommitContent.Parser.ParseFrom(commit.Content);
        var first = content.Wraps[0];
        content.Wraps.RemoveAt(0);
        content.Wraps.Add(first);

        AssertRejected(room, "alice", _alice.Sign(content.ToByteString()), "wraps");
    }

    [Fact]
    public void Garbage_content_is_rejected_without_an_exception()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: []);

        AssertRejected(room, "alice", new SignedCommit { Content = ByteString.CopyFrom(0xFF, 0x01), Signature = ByteString.CopyFrom(new byte[64]) }, "parse");
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
    }

    private static void AssertRejected(RoomView room, string sender, SignedCommit commit, string reasonPart)
    {
        Assert.False(CommitCheck.TryAccept(room, sender, commit.Content, commit.Signature, out _, out var reason));
        Assert.Contains(reasonPart, reason, StringComparison.Ordinal);
    }

    private static RoomView View(ulong epoch, TestMember[] roster, TestMember[] pendingAdds, string[]? pendingRemoves = null, int maxMembers = 100) => new(
        Room,
        epoch,
        roster.Length == 0 ? CipherSuite.Unspecified : CipherSuite.Aes256GcmX25519Ed25519Sha256,
        roster.ToDictionary(m => m.Id, Verified, StringComparer.Ordinal),
        pendingAdds.ToDictionary(m => m.Id, Verified, StringComparer.Ordinal),
        new HashSet<string>(pendingRemoves ?? [], StringComparer.Ordinal),
        maxMembers);

    private static VerifiedBundle Verified(TestMember member) =>
        BundleCheck.TryVerify(member.Bundle, member.Id, DateTimeOffset.UtcNow, out var verified, out var reason) ? verified : throw new InvalidOperationException(reason);
}
