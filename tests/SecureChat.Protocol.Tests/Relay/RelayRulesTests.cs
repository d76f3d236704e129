using Google.Protobuf;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Relay;
using SecureChat.Testing.RawClients;
using SecureChat.Testing.Simulation;

namespace SecureChat.Protocol.Tests.Relay;

/// <summary>
/// The relay's rules (<see cref="RelayRules"/>), which the server's rooms and the test relays share: the JOIN bundle
/// check and the COMMIT check, with commits built by hand (<see cref="TestMember"/>) and by the engine.
/// </summary>
public sealed class RelayRulesTests : IDisposable
{
    private const string Room = "lobby";
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // A transcript hash other than the 32 zero bytes the hand-made views and commits hold by default.
    private static readonly ByteString History = ByteString.CopyFrom(Enumerable.Repeat((byte)0x17, 32).ToArray());
    private readonly TestMember _alice = new("alice");
    private readonly TestMember _bob = new("bob");
    private readonly TestMember _carol = new("carol");

    // ------------------------------------------------------------------ JOIN bundles

    [Fact]
    public void A_self_signed_unexpired_bundle_of_the_sender_verifies()
    {
        Assert.Equal(BundleRejection.None, RelayRules.CheckJoinBundle(_alice.Bundle, "alice", Room, Now, out var member, out var reason));
        Assert.Empty(reason);
        Assert.Equal("alice", member!.ClientId);
        Assert.Equal(_alice.Identity.PublicKey, member.IdentityKey);
    }

    [Fact]
    public void A_bundle_for_another_client_id_is_refused()
    {
        AssertBundleRefused(_alice.Bundle, "mallory", BundleRejection.WrongClient, "another client");
    }

    [Fact]
    public void An_expired_bundle_is_refused()
    {
        using var expired = new TestMember("alice", expires: DateTimeOffset.UtcNow.AddMinutes(-1));

        AssertBundleRefused(expired.Bundle, "alice", BundleRejection.Expired, "expired");
    }

    [Fact]
    public void A_bundle_with_a_flipped_signature_bit_is_refused()
    {
        var signature = _alice.Bundle.Signature.ToByteArray();
        signature[5] ^= 1;

        AssertBundleRefused(new SignedBundle { Content = _alice.Bundle.Content, Signature = ByteString.CopyFrom(signature) }, "alice",
            BundleRejection.BadSignature, "signature");
    }

    [Fact]
    public void A_bundle_signed_by_another_identity_is_refused()
    {
        using var mallory = new TestMember("mallory");

        AssertBundleRefused(new SignedBundle { Content = _alice.Bundle.Content, Signature = mallory.Bundle.Signature }, "alice",
            BundleRejection.BadSignature, "signature");
    }

    [Fact]
    public void Invalid_utf8_in_the_client_id_is_refused_without_an_exception()
    {
        // Field 1 (client_id), length 2, bytes that are not UTF-8.
        var bundle = new SignedBundle { Content = ByteString.CopyFrom(0x0A, 0x02, 0xC3, 0x28), Signature = ByteString.CopyFrom(new byte[64]) };

        AssertBundleRefused(bundle, "alice", BundleRejection.Malformed, "parse");
    }

    [Fact]
    public void A_low_order_membership_key_is_refused()
    {
        var weak = _alice.MakeBundle("alice", DateTimeOffset.UtcNow.AddDays(1), membershipKey: new byte[32]);

        AssertBundleRefused(weak, "alice", BundleRejection.WeakMembershipKey, "low-order");
    }

    [Fact]
    public void Unparsable_content_is_refused()
    {
        var garbage = new SignedBundle { Content = ByteString.CopyFrom(0xFF, 0xFF, 0xFF), Signature = ByteString.CopyFrom(new byte[64]) };

        AssertBundleRefused(garbage, "alice", BundleRejection.Malformed, "parse");
    }

    // ------------------------------------------------------------------ commits: creating a room

    [Fact]
    public void A_waiting_joiner_creates_an_empty_room_with_itself_alone()
    {
        var accepted = AssertAccepted(View(epoch: 0, roster: [], pendingAdds: [_alice]), "alice", _alice.CreateRoom(Room));

        Assert.Equal(1ul, accepted.Epoch);
        Assert.Equal(["alice"], accepted.Roster.Select(b => b.ClientId));
        Assert.Equal(["alice"], accepted.Added);
    }

    [Fact]
    public void Creation_continues_the_epoch_count_of_a_room_that_emptied()
    {
        Assert.Equal(8ul, AssertAccepted(View(epoch: 7, roster: [], pendingAdds: [_alice]), "alice", _alice.CreateRoom(Room, epoch: 8)).Epoch);
    }

    [Fact]
    public void Nobody_but_a_waiting_joiner_creates_a_room()
    {
        AssertRejected(View(epoch: 0, roster: [], pendingAdds: [_bob]), "alice", _alice.CreateRoom(Room), RelayCommitRejection.NotAMember, "waiting joiner");
    }

    [Fact]
    public void A_creation_with_more_than_the_creator_is_rejected()
    {
        var commit = _alice.Commit(Room, 1, [_alice.Bundle, _bob.Bundle], added: [_alice.Bundle, _bob.Bundle], kind: CommitKind.Create);

        AssertRejected(View(epoch: 0, roster: [], pendingAdds: [_alice, _bob]), "alice", commit, RelayCommitRejection.NotAMember, "waiting joiner");
    }

    [Fact]
    public void The_first_commit_of_a_room_must_be_a_creation_and_later_ones_member_commits()
    {
        var memberKind = _alice.Commit(Room, 1, [_alice.Bundle], added: [_alice.Bundle]);
        AssertRejected(View(epoch: 0, roster: [], pendingAdds: [_alice]), "alice", memberKind, RelayCommitRejection.WrongKind, "CREATE");

        var creation = _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], kind: CommitKind.Create);
        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "alice", creation, RelayCommitRejection.WrongKind, "MEMBER");

        var external = _carol.Commit(Room, 3, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle], kind: CommitKind.External);
        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]), "carol", external, RelayCommitRejection.WrongKind, "asked");
    }

    [Fact]
    public void A_creation_sets_a_valid_policy()
    {
        var accepted = AssertAccepted(View(epoch: 0, roster: [], pendingAdds: [_alice]), "alice",
            _alice.CreateRoom(Room, policy: RoomPolicies.Of(Admission.Invite)));
        Assert.Equal(Admission.Invite, accepted.Policy!.Admission);

        var noLimit = new RoomPolicy { Admission = Admission.Open, AbsenceLimitMs = 0 };
        AssertRejected(View(epoch: 0, roster: [], pendingAdds: [_alice]), "alice", _alice.CreateRoom(Room, policy: noLimit), RelayCommitRejection.BadRoster, "policy");
    }

    // ------------------------------------------------------------------ commits: epoch, committer, signature

    [Fact]
    public void A_member_adds_a_joiner_with_the_bundle_it_joined_with()
    {
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        var accepted = AssertAccepted(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", commit);

        Assert.Equal(["alice", "bob"], accepted.Roster.Select(b => b.ClientId));
        Assert.Equal("alice", accepted.CommitterId);
    }

    [Fact]
    public void An_accepted_commit_carries_the_transcript_hash_members_compute()
    {
        var commit = _alice.CreateRoom(Room);

        var accepted = AssertAccepted(View(epoch: 0, roster: [], pendingAdds: [_alice]), "alice", commit);

        Assert.Equal(KeySchedule.TranscriptHashOf(commit, KeySchedule.InitialTranscriptHash), accepted.TranscriptHash.ToByteArray());
    }

    [Fact]
    public void A_commit_that_does_not_extend_the_rooms_transcript_is_rejected()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]) with { TranscriptHash = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 32).ToArray()) };

        AssertRejected(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), RelayCommitRejection.WrongTranscript, "transcript");
        Assert.True(RelayRules.CheckCommit(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle], previous: room.TranscriptHash)).IsAccepted);
    }

    [Fact]
    public void A_confirmation_tag_that_is_not_32_bytes_is_rejected()
    {
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);
        commit.ConfirmationTag = ByteString.CopyFrom(new byte[31]);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", commit, RelayCommitRejection.Malformed, "confirmation tag");
    }

    [Fact]
    public void A_commit_for_an_epoch_already_committed_is_rejected()
    {
        var stale = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]), "alice", stale, RelayCommitRejection.WrongEpoch, "already committed");
    }

    [Fact]
    public void A_commit_skipping_an_epoch_is_rejected()
    {
        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]),
            RelayCommitRejection.WrongEpoch, "not the next epoch");
    }

    [Fact]
    public void The_epoch_of_a_refused_commit_is_read_for_the_error()
    {
        Assert.Equal(7ul, RelayRules.CheckCommit(View(epoch: 7, roster: [], pendingAdds: [_alice]), "alice", _alice.CreateRoom(Room, epoch: 7)).Epoch);
        Assert.Equal(0ul, RelayRules.CheckCommit(View(epoch: 7, roster: [], pendingAdds: []), "alice",
            new SignedCommit { Content = ByteString.CopyFrom(0xFF), Signature = ByteString.Empty }).Epoch);
    }

    [Fact]
    public void A_commit_signed_by_someone_else_is_rejected()
    {
        var byAlice = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", _bob.Sign(byAlice.Content), RelayCommitRejection.BadSignature, "signature");
    }

    [Fact]
    public void A_commit_by_a_non_member_is_rejected()
    {
        var commit = _bob.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "bob", commit, RelayCommitRejection.NotAMember, "not in the room's roster");
    }

    [Fact]
    public void A_member_that_left_no_longer_commits()
    {
        var rekey = _bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [], pendingRemoves: ["bob"]), "bob", rekey, RelayCommitRejection.NotAMember,
            "not in the room's roster");
    }

    [Fact]
    public void The_committer_id_must_be_the_sender()
    {
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle, _carol.Bundle], added: [_carol.Bundle], committerId: "bob");

        AssertRejected(View(epoch: 1, roster: [_alice, _bob], pendingAdds: [_carol]), "alice", commit, RelayCommitRejection.CommitterNotSender, "committer id");
    }

    [Fact]
    public void A_commit_for_another_room_is_rejected()
    {
        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", _alice.Commit("elsewhere", 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]),
            RelayCommitRejection.WrongRoom, "another room");
    }

    [Fact]
    public void The_cipher_suite_of_a_room_cannot_change()
    {
        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "alice",
            _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true, suite: CipherSuite.Chacha20Poly1305X25519Ed25519Sha256), RelayCommitRejection.WrongSuite, "suite");
    }

    [Fact]
    public void Garbage_content_is_rejected_without_an_exception()
    {
        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: []), "alice",
            new SignedCommit { Content = ByteString.CopyFrom(0xFF, 0x01), Signature = ByteString.CopyFrom(new byte[64]) }, RelayCommitRejection.Malformed, "parse");
    }

    // ------------------------------------------------------------------ commits: the room's history

    [Fact]
    public void A_commit_continuing_another_history_is_rejected_even_when_signed_by_a_member()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []) with { TranscriptHash = History };

        AssertRejected(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true), RelayCommitRejection.WrongTranscript, "not the room's");
        Assert.True(RelayRules.CheckCommit(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true, previous: History)).IsAccepted);
    }

    [Fact]
    public void A_creation_names_32_zero_bytes_as_its_previous_transcript_hash()
    {
        var continuing = _alice.Commit(Room, 8, [_alice.Bundle], added: [_alice.Bundle], previous: History, kind: CommitKind.Create);

        AssertRejected(View(epoch: 7, roster: [], pendingAdds: [_alice]), "alice", continuing, RelayCommitRejection.WrongTranscript, "32 zero bytes");
    }

    [Fact]
    public void The_room_expects_its_own_transcript_hash_or_zero_bytes_for_a_creation()
    {
        Assert.Equal(History, RelayRules.ExpectedPreviousTranscriptHash(View(epoch: 2, roster: [_alice], pendingAdds: []) with { TranscriptHash = History }));
        Assert.Equal(RelayRules.InitialTranscriptHash, RelayRules.ExpectedPreviousTranscriptHash(View(epoch: 2, roster: [], pendingAdds: [_alice]) with { TranscriptHash = History }));
        Assert.Equal(new byte[32], RelayRules.InitialTranscriptHash.ToByteArray());
    }

    // ------------------------------------------------------------------ commits: the frame limit

    [Fact]
    public void A_commit_relayed_in_an_envelope_of_exactly_the_frame_limit_is_accepted_and_one_byte_more_is_rejected()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);
        var fits = _bob.PaddedToRelayedSize(_bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true), Room, WireLimits.DefaultMaxFrameBytes);
        var over = _bob.PaddedToRelayedSize(_bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true), Room, WireLimits.DefaultMaxFrameBytes + 1);

        var verdict = RelayRules.CheckCommit(room, "bob", fits);
        Assert.True(verdict.IsAccepted, verdict.Reason);
        Assert.Equal(WireLimits.DefaultMaxFrameBytes, verdict.Relayed.Length);
        AssertRejected(room, "bob", over, RelayCommitRejection.TooLarge, $"frame limit of {WireLimits.DefaultMaxFrameBytes}");
        AssertRejected(room with { MaxFrameBytes = WireLimits.DefaultMaxFrameBytes - 1 }, "bob", fits, RelayCommitRejection.TooLarge,
            $"frame limit of {WireLimits.DefaultMaxFrameBytes - 1}");
    }

    [Fact]
    public void The_relayed_envelope_is_the_commit_from_its_committer_for_its_epoch_and_suite()
    {
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]);

        var verdict = RelayRules.CheckCommit(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", commit);

        var relayed = Envelope.Parser.ParseFrom(verdict.Relayed);
        Assert.Equal((MessageType.Commit, "alice", Room, 2ul, CipherSuite.Aes256GcmX25519Ed25519Sha256),
            (relayed.Type, relayed.SenderId, relayed.RoomId, relayed.Epoch, relayed.CipherSuite));
        Assert.Equal(commit, relayed.Commit);
    }

    // ------------------------------------------------------------------ commits: the relay's own records

    [Fact]
    public void Adding_someone_who_did_not_join_is_rejected()
    {
        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: []), "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]),
            RelayCommitRejection.NotJoined, "nobody joined with");
    }

    [Fact]
    public void A_bundle_the_open_request_named_may_be_added_after_its_joiner_left()
    {
        var room = View(epoch: 1, roster: [_alice], pendingAdds: []) with { RequestedAdds = [Verified(_bob)] };

        Assert.Equal(["bob"], AssertAccepted(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle])).Added);
    }

    [Fact]
    public void Any_member_may_remove_another_and_the_relay_cannot_veto_it()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);

        Assert.Equal(["bob"], AssertAccepted(room, "alice", _alice.Commit(Room, 3, [_alice.Bundle], removed: ["bob"])).Removed);
        AssertRejected(room, "alice", _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], removed: ["carol"]), RelayCommitRejection.BadRoster, "not a member");
    }

    [Fact]
    public void Removing_a_member_who_left_is_accepted()
    {
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: [], pendingRemoves: ["bob"]);

        Assert.Equal(["bob"], AssertAccepted(room, "alice", _alice.Commit(Room, 3, [_alice.Bundle], removed: ["bob"])).Removed);
    }

    // ------------------------------------------------------------------ commits: the roster rule

    [Fact]
    public void An_unsorted_roster_is_rejected()
    {
        var commit = _alice.Commit(Room, 2, [_bob.Bundle, _alice.Bundle], added: [_bob.Bundle], sortRoster: false);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", commit, RelayCommitRejection.BadRoster, "sorted");
    }

    [Fact]
    public void Swapping_a_members_bundle_for_another_key_is_rejected()
    {
        using var fakeBob = new TestMember("bob");
        var commit = _alice.Commit(Room, 3, [_alice.Bundle, fakeBob.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]), "alice", commit, RelayCommitRejection.BadRoster, "known one");
    }

    [Fact]
    public void A_roster_entry_that_does_not_verify_is_rejected()
    {
        var forged = new SignedBundle { Content = _bob.Bundle.Content, Signature = _carol.Bundle.Signature };

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "alice", _alice.Commit(Room, 3, [_alice.Bundle, forged], rekey: true),
            RelayCommitRejection.BadRoster, "does not verify");
    }

    [Fact]
    public void A_roster_that_forgets_a_remaining_member_is_rejected()
    {
        var commit = _alice.Commit(Room, 3, [_alice.Bundle, _carol.Bundle], added: [_carol.Bundle]);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol]), "alice", commit, RelayCommitRejection.BadRoster, "operations applied");
    }

    [Fact]
    public void A_roster_above_the_member_limit_is_rejected()
    {
        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob], maxMembers: 1), "alice",
            _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), RelayCommitRejection.BadRoster, "exceeds");
    }

    [Fact]
    public void An_added_bundle_that_had_expired_when_the_commit_was_made_is_rejected()
    {
        using var lateBob = new TestMember("bob", expires: DateTimeOffset.UtcNow.AddMinutes(-1));
        var commit = _alice.Commit(Room, 2, [_alice.Bundle, lateBob.Bundle], added: [lateBob.Bundle]);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [lateBob]), "alice", commit, RelayCommitRejection.BadRoster, "expired");
    }

    [Fact]
    public void A_plain_rekey_keeps_the_roster()
    {
        Assert.True(AssertAccepted(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "bob", _bob.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], rekey: true)).Rekey);
    }

    [Fact]
    public void Operations_out_of_their_order_are_rejected()
    {
        var content = CommitContent.Parser.ParseFrom(_alice.Commit(Room, 3, [_alice.Bundle, _carol.Bundle], added: [_carol.Bundle], removed: ["bob"]).Content);
        (content.Operations[0], content.Operations[1]) = (content.Operations[1], content.Operations[0]);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: [_carol], pendingRemoves: ["bob"]), "alice", _alice.Sign(content.ToByteString()),
            RelayCommitRejection.BadRoster, "operations");
    }

    [Fact]
    public void A_commit_without_a_policy_is_rejected()
    {
        var content = CommitContent.Parser.ParseFrom(_alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle]).Content);
        content.Policy = null;

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "alice", _alice.Sign(content.ToByteString()), RelayCommitRejection.BadRoster, "policy");
    }

    [Fact]
    public void A_policy_change_without_a_set_policy_operation_is_rejected()
    {
        var commit = _alice.Commit(Room, 3, [_alice.Bundle, _bob.Bundle], policy: RoomPolicies.Of(Admission.Invite));

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "alice", commit, RelayCommitRejection.BadRoster, "SetPolicy");
    }

    [Fact]
    public void A_join_bundle_for_another_room_or_with_a_lifetime_over_90_days_is_refused()
    {
        AssertBundleRefused(_alice.MakeBundle("alice", DateTimeOffset.UtcNow.AddDays(1), room: "elsewhere"), "alice", BundleRejection.WrongRoom, "another room");
        AssertBundleRefused(_alice.MakeBundle("alice", DateTimeOffset.UtcNow.AddDays(1), created: DateTimeOffset.UtcNow.AddDays(-90)), "alice",
            BundleRejection.BadLifetime, "90 days");
    }

    [Fact]
    public void A_bundle_the_room_admitted_before_is_not_admitted_again()
    {
        var admissions = new AdmissionRecord();
        admissions.Admit(Verified(_bob));
        var room = View(epoch: 1, roster: [_alice], pendingAdds: [_bob]) with { Admissions = admissions };

        AssertRejected(room, "alice", _alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]), RelayCommitRejection.BadRoster, "already admitted");
    }

    [Fact]
    public void A_committer_may_refresh_its_own_entry_with_the_same_identity_key_and_a_greater_key_id()
    {
        var refreshed = _bob.RefreshedBundle(keyId: 2);

        var accepted = AssertAccepted(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "bob", _bob.Commit(Room, 3, [_alice.Bundle, refreshed], rekey: true));

        Assert.Equal(refreshed, accepted.Roster.Single(b => b.ClientId == "bob").Bundle);
    }

    [Fact]
    public void A_committer_may_not_refresh_someone_elses_entry()
    {
        using var fakeAlice = new TestMember("alice");

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "bob", _bob.Commit(Room, 3, [fakeAlice.RefreshedBundle(), _bob.Bundle], rekey: true),
            RelayCommitRejection.BadRoster, "known one");
    }

    [Fact]
    public void A_refresh_with_another_identity_key_or_no_greater_key_id_is_rejected()
    {
        using var otherBob = new TestMember("bob");
        var room = View(epoch: 2, roster: [_alice, _bob], pendingAdds: []);

        AssertRejected(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, otherBob.RefreshedBundle()], rekey: true), RelayCommitRejection.BadRoster, "known one");
        AssertRejected(room, "bob", _bob.Commit(Room, 3, [_alice.Bundle, _bob.RefreshedBundle(keyId: 1)], rekey: true), RelayCommitRejection.BadRoster, "known one");
    }

    [Fact]
    public void A_refresh_to_a_low_order_membership_key_is_rejected()
    {
        var weak = _bob.MakeBundle("bob", DateTimeOffset.UtcNow.AddDays(1), keyId: 2, membershipKey: new byte[32]);

        AssertRejected(View(epoch: 2, roster: [_alice, _bob], pendingAdds: []), "bob", _bob.Commit(Room, 3, [_alice.Bundle, weak], rekey: true),
            RelayCommitRejection.BadRoster, "low-order");
    }

    [Fact]
    public void Wraps_out_of_roster_order_are_rejected()
    {
        var content = CommitContent.Parser.ParseFrom(_alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]).Content);
        var first = content.Wraps[0];
        content.Wraps.RemoveAt(0);
        content.Wraps.Add(first);

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", _alice.Sign(content.ToByteString()), RelayCommitRejection.BadRoster, "wraps");
    }

    [Fact]
    public void A_wrap_for_another_key_id_than_its_roster_entry_is_rejected()
    {
        var content = CommitContent.Parser.ParseFrom(_alice.Commit(Room, 2, [_alice.Bundle, _bob.Bundle], added: [_bob.Bundle]).Content);
        content.Wraps[1].RecipientKeyId = 9;

        AssertRejected(View(epoch: 1, roster: [_alice], pendingAdds: [_bob]), "alice", _alice.Sign(content.ToByteString()), RelayCommitRejection.BadRoster, "key id");
    }

    // ------------------------------------------------------------------ commits the engine makes

    [Fact]
    public void The_relay_accepts_a_members_commit_and_reports_its_roster()
    {
        using var sim = Scenario.Group(61, "alice", "bob");

        var accepted = AssertAccepted(MemberView(sim), "bob", Scenario.RekeyCommit(sim, "bob"));

        Assert.Equal(["alice", "bob"], accepted.Roster.Select(m => m.ClientId));
        Assert.Empty(accepted.Added);
    }

    [Fact]
    public void The_relay_refuses_engine_commits_that_fail_its_checks()
    {
        using var sim = Scenario.Group(62, "alice", "bob");
        var commit = Scenario.RekeyCommit(sim, "bob");
        var alice = sim["alice"].Identity.IdentityKey;
        var bob = sim["bob"].Identity.IdentityKey;
        var room = MemberView(sim);

        Assert.Equal(RelayCommitRejection.CommitterNotSender, RelayRules.CheckCommit(room, "alice", commit).Rejection);
        Assert.Equal(RelayCommitRejection.BadSignature, RelayRules.CheckCommit(room, "bob", Scenario.Resign(commit, alice, _ => { })).Rejection);
        Assert.Equal(RelayCommitRejection.WrongEpoch, RelayRules.CheckCommit(room, "bob", Scenario.Resign(commit, bob, c => c.Epoch++)).Rejection);
        Assert.Equal(RelayCommitRejection.WrongRoom, RelayRules.CheckCommit(room, "bob", Scenario.Resign(commit, bob, c => c.RoomId = "other")).Rejection);
        Assert.Equal(RelayCommitRejection.NotAMember, RelayRules.CheckCommit(room, "mallory", Scenario.Resign(commit, alice, c => c.CommitterId = "mallory")).Rejection);
        Assert.Equal(RelayCommitRejection.BadRoster, RelayRules.CheckCommit(room with { MaxMembers = 1 }, "bob", commit).Rejection);
        Assert.Equal(RelayCommitRejection.BadRoster, RelayRules.CheckCommit(room, "bob", Scenario.Resign(commit, bob, c =>
            (c.Roster[0], c.Roster[1]) = (c.Roster[1], c.Roster[0]))).Rejection);
        Assert.Equal(RelayCommitRejection.Malformed, RelayRules.CheckCommit(room, "bob",
            new SignedCommit { Content = ByteString.CopyFrom(9, 9), Signature = commit.Signature }).Rejection);
    }

    [Fact]
    public void Only_a_waiting_joiner_may_create_an_empty_room()
    {
        using var sim = new GroupSimulation(63);
        var carol = sim.Client("carol");
        var dave = sim.Client("dave");
        carol.Join(sim.Relay);
        dave.Join(sim.Relay);
        var request = new CommitRequest { NewEpoch = 1 };
        request.Adds.Add(new Add { Bundle = carol.Session!.JoinBundle });
        var commit = Assert.IsType<CommitCreated>(carol.Session.CreateCommit(request)).Commit;
        var daveWaits = EmptyRoom(sim.Relay.RoomId, dave.Session!.JoinBundle);
        var carolWaits = EmptyRoom(sim.Relay.RoomId, carol.Session.JoinBundle);

        Assert.Equal(RelayCommitRejection.NotAMember, RelayRules.CheckCommit(daveWaits, "carol", commit).Rejection);
        Assert.Equal(["carol"], AssertAccepted(carolWaits, "carol", commit).Added);
    }

    [Fact]
    public void The_test_relay_refuses_a_commit_the_server_refuses_adding_a_bundle_nobody_joined_with()
    {
        using var sim = Scenario.Group(64, "alice", "bob");
        using var ghost = LocalIdentity.Generate("ghost", sim.Random);
        using var ghostKey = ghost.CreateMembershipKey(sim.Relay.RoomId, 1, sim.Clock.UtcNowMs, 3_600_000, sim.Random);
        var alice = sim["alice"];
        var epoch = alice.Session!.Epoch;
        var request = new CommitRequest { NewEpoch = epoch + 1, Suite = alice.Session.Suite };
        request.Adds.Add(new Add { Bundle = ghostKey.Bundle });
        var commit = Assert.IsType<CommitCreated>(alice.Session.CreateCommit(request)).Commit;

        sim.Relay.Submit(alice, alice.Session.CommitEnvelope(commit));
        sim.RunUntilQuiet();

        Assert.Equal(RelayCommitRejection.NotJoined, sim.Relay.LastRejection);
        Assert.Equal(ErrorCode.CommitRejected, alice.Errors[^1]);
        Assert.Null(alice.Session.PendingCommit);
        Assert.Equal(epoch, sim.Relay.Epoch);
        Assert.Equal(epoch, sim["bob"].Session!.Epoch);
        Assert.DoesNotContain(sim["bob"].CommitLog, e => e.Epoch > epoch);
    }

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
    }

    private static void AssertBundleRefused(SignedBundle bundle, string clientId, BundleRejection expected, string reasonPart)
    {
        Assert.Equal(expected, RelayRules.CheckJoinBundle(bundle, clientId, Room, Now, out var member, out var reason));
        Assert.Null(member);
        Assert.Contains(reasonPart, reason, StringComparison.Ordinal);
    }

    private static EpochAccepted AssertAccepted(RelayView room, string sender, SignedCommit commit)
    {
        var verdict = RelayRules.CheckCommit(room, sender, commit);
        Assert.True(verdict.IsAccepted, verdict.Reason);
        Assert.Equal(RelayCommitRejection.None, verdict.Rejection);
        return verdict.Accepted!;
    }

    private static void AssertRejected(RelayView room, string sender, SignedCommit commit, RelayCommitRejection expected, string reasonPart)
    {
        var verdict = RelayRules.CheckCommit(room, sender, commit);
        Assert.Null(verdict.Accepted);
        Assert.Equal(expected, verdict.Rejection);
        Assert.Contains(reasonPart, verdict.Reason, StringComparison.Ordinal);
    }

    private static RelayView View(ulong epoch, TestMember[] roster, TestMember[] pendingAdds, string[]? pendingRemoves = null, int maxMembers = 100) => new(
        Room,
        epoch,
        roster.Length == 0 ? CipherSuite.Unspecified : CipherSuite.Aes256GcmX25519Ed25519Sha256,
        new SortedDictionary<string, RosterMember>(roster.ToDictionary(m => m.Id, Verified), StringComparer.Ordinal),
        pendingAdds.ToDictionary(m => m.Id, Verified, StringComparer.Ordinal),
        new SortedSet<string>(pendingRemoves ?? [], StringComparer.Ordinal),
        maxMembers)
    {
        Policy = roster.Length == 0 ? null : RoomPolicies.Default,
    };

    /// <summary>The room as the relay sees a settled simulated group: its members' roster, nothing pending.</summary>
    private static RelayView MemberView(GroupSimulation sim)
    {
        var session = sim["alice"].Session!;
        return new RelayView(sim.Relay.RoomId, sim.Relay.Epoch, session.Suite, session.Roster.ToDictionary(m => m.ClientId, StringComparer.Ordinal),
            new Dictionary<string, RosterMember>(), new HashSet<string>(), 150)
        {
            TranscriptHash = ByteString.CopyFrom(session.TranscriptHash),
            Policy = session.Policy,
        };
    }

    private static RelayView EmptyRoom(string roomId, SignedBundle waiting)
    {
        Assert.Equal(BundleRejection.None, Bundles.Verify(waiting, roomId, null, out var joiner));
        return new RelayView(roomId, 0, CipherSuite.Unspecified, new Dictionary<string, RosterMember>(),
            new Dictionary<string, RosterMember> { [joiner!.ClientId] = joiner }, new HashSet<string>(), 150);
    }

    // Bundles as the relay holds them: checked at JOIN (expiry aside, so a test may hold a bundle that expired since).
    private static RosterMember Verified(TestMember member) =>
        Bundles.Verify(member.Bundle, Room, null, out var verified) == BundleRejection.None ? verified! : throw new InvalidOperationException(member.Id);
}
