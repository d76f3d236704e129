using Google.Protobuf;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Fakes;
using Envelope = SecureChat.Core.Wire.Envelope;
using JoinedEvent = SecureChat.Client.Session.Joined;
using ManualClock = SecureChat.Protocol.Infrastructure.ManualClock;

namespace SecureChat.Client.Tests.Rooms;

/// <summary>
/// The room loop on its own: alice's <see cref="ClientRoom"/> gets frames as the relay would send them, the
/// other members are the engine driven directly (<see cref="EnginePeer"/>), and each test reads the effects.
/// </summary>
public sealed partial class ClientRoomTests : IDisposable
{
    private const string Room = "lobby";
    private readonly LocalIdentity _alice = LocalIdentity.Generate("alice", SystemRandomSource.Instance);
    private readonly TrustStore _trust = new();
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    private readonly List<GroupSession> _opened = [];
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        _owned.ForEach(d => d.Dispose());
        _alice.Dispose();
    }

    [Fact]
    public void A_join_answered_by_a_room_the_server_restored_from_storage_is_reported_as_such()
    {
        var room = NewRoom();
        Take(room.LinkReady());

        var joined = Assert.IsType<JoinedEvent>(Assert.Single(Take(room.Frame(ServerFrames.Joined(Room, 3, 2, recovered: true))).Events));

        Assert.Equal((3UL, 2, true), (joined.CurrentEpoch, joined.MemberCount, joined.Recovered));
        Assert.Equal(RoomPhase.AwaitingAdmission, room.Phase);
    }

    [Fact]
    public void Sends_typed_before_admission_are_queued_and_sent_in_order_once_a_commit_admits_us()
    {
        var bob = Peer("bob");
        bob.CreateRoom();
        var room = NewRoom();
        Assert.Empty(Take(room.Send("one")).Out);

        var join = Single(Take(room.LinkReady()), MessageType.Join);
        Assert.Equal((RoomPhase.Joining, "alice", Room), (room.Phase, join.SenderId, join.RoomId));
        Assert.Empty(Take(room.Send("two")).Out);
        var joined = Take(room.Frame(ServerFrames.Joined(Room, 1, 1)));
        Assert.Equal((1UL, 1), (Assert.IsType<JoinedEvent>(Assert.Single(joined.Events)).CurrentEpoch, 1));
        Assert.Equal((RoomPhase.AwaitingAdmission, AdmissionTimer.Start), (room.Phase, joined.Timer));
        Assert.Equal(2, room.QueuedSends);

        var admitted = Take(room.Frame(bob.Admit(join.Join.Bundle)));

        Assert.Equal(RoomPhase.Ready, room.Phase);
        Assert.Equal(AdmissionTimer.Cancel, admitted.Timer);
        var present = Assert.IsType<MemberJoined>(admitted.Events[0]);
        Assert.Equal(("bob", bob.Identity.Fingerprint, true), (present.ClientId, present.Fingerprint, present.AlreadyPresent));
        var keys = Assert.IsType<KeyEstablished>(admitted.Events[1]);
        Assert.Equal((2UL, bob.Session.EpochCode, 2), (keys.Epoch, keys.EpochCode, keys.MemberCount));
        Assert.Equal(["one", "two"], admitted.Out.Select(bob.Decrypt));
        Assert.Equal(0, room.QueuedSends);
    }

    [Fact]
    public void The_first_joiner_creates_the_room_and_applies_its_commit_only_when_echoed()
    {
        var room = NewRoom();
        var join = Single(Take(room.LinkReady()), MessageType.Join);
        room.Frame(ServerFrames.Joined(Room, 0, 0));

        var commit = Single(Take(room.Frame(ServerFrames.CommitRequest(Room, 1, [join.Join.Bundle]))), MessageType.Commit);
        Assert.Equal((1UL, RoomPhase.AwaitingAdmission, 0UL), (commit.Epoch, room.Phase, room.Epoch));

        var echoed = Take(room.Frame(ServerFrames.Relay(commit)));
        var keys = Assert.IsType<KeyEstablished>(Assert.Single(echoed.Events));
        Assert.Equal((1UL, 1, RoomPhase.Ready), (keys.Epoch, keys.MemberCount, room.Phase));
        Assert.Equal(keys.EpochCode, room.EpochCode);
    }

    [Fact]
    public void A_message_that_arrives_before_its_epoch_is_held_and_delivered_after_the_commit()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var rekey = bob.Rekey();
        var early = bob.Encrypt("from epoch 3");

        Assert.Empty(Take(room.Frame(early)).Events);
        Assert.Equal([early], room.Held);
        var applied = Take(room.Frame(rekey));

        Assert.Equal(3UL, Assert.IsType<KeyEstablished>(applied.Events[0]).Epoch);
        var message = Assert.IsType<MessageReceived>(applied.Events[1]);
        Assert.Equal(("bob", Room, "from epoch 3"), (message.SenderId, message.RoomId, message.Text));
        Assert.Empty(room.Held);
    }

    [Fact]
    public void The_hold_is_bounded_and_drops_the_oldest_with_a_warning()
    {
        var (room, bob) = AdmittedToBobsRoom(new ClientSessionSettings { MaxHeldMessages = 2 });
        var rekey = bob.Rekey();
        var early = Enumerable.Range(0, 3).Select(i => bob.Encrypt($"early {i}")).ToList();

        room.Frame(early[0]);
        room.Frame(early[1]);
        var third = Take(room.Frame(early[2]));

        Assert.Equal(("bob", Room), (Assert.IsType<HeldMessageDropped>(Assert.Single(third.Events)).SenderId, Room));
        Assert.Equal(early[1..], room.Held);
        Assert.Equal(["early 1", "early 2"], Take(room.Frame(rekey)).Events.OfType<MessageReceived>().Select(m => m.Text));
    }

    [Fact]
    public void Delivers_messages_from_other_members_with_sender_room_and_times()
    {
        var (room, bob) = AdmittedToBobsRoom();
        _clock.Advance(1_500);

        var message = Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(bob.Encrypt("hello alice"))).Events));

        Assert.Equal(("hello alice", "bob", Room), (message.Text, message.SenderId, message.RoomId));
        Assert.Equal(_clock.UtcNowMs, message.ReceivedAt.ToUnixTimeMilliseconds());
        Assert.InRange(message.SentAt, DateTimeOffset.UtcNow.AddSeconds(-30), DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public void A_tampered_message_is_reported_as_a_decrypt_failure_and_the_next_one_still_opens()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var envelope = bob.Encrypt("secret");
        var bytes = envelope.Ciphertext.ToByteArray();
        bytes[0] ^= 1;
        envelope.Ciphertext = ByteString.CopyFrom(bytes);

        var failed = Assert.IsType<DecryptFailed>(Assert.Single(Take(room.Frame(envelope)).Events));

        Assert.Equal((ClientErrorCode.DecryptFailed, "bob", DecryptRejection.AuthenticationFailed), (failed.Code, failed.SenderId, failed.Reason));
        Assert.Equal("next", Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(bob.Encrypt("next"))).Events)).Text);
    }

    [Fact]
    public void A_replayed_message_is_dropped_with_a_warning_and_shown_once()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var envelope = bob.Encrypt("once");

        Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(envelope)).Events));
        var replay = Assert.IsType<MessageDropped>(Assert.Single(Take(room.Frame(envelope.Clone())).Events));

        Assert.Equal(("bob", DecryptRejection.Replay), (replay.SenderId, replay.Reason));
    }

    [Fact]
    public void Commits_when_asked_keeps_sending_while_committing_and_after_a_refusal_commits_again()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var carol = Peer("carol");
        var request = ServerFrames.CommitRequest(Room, 3, [carol.Session.JoinBundle]);
        Assert.Equal(3UL, Single(Take(room.Frame(request)), MessageType.Commit).Epoch);
        Assert.Equal(RoomPhase.Committing, room.Phase);

        Assert.Equal("during commit", bob.Decrypt(Single(Take(room.Send("during commit")), MessageType.Application)));

        var refused = ServerFrames.Error(Room, ErrorCode.CommitRejected, "another commit won");
        refused.Epoch = 3;
        Assert.Empty(Take(room.Frame(refused)).Events);
        Assert.Equal(RoomPhase.Ready, room.Phase);
        Assert.Null(room.Session!.PendingCommit);
        var second = Single(Take(room.Frame(request)), MessageType.Commit);
        var applied = Take(room.Frame(ServerFrames.Relay(second)));

        Assert.Equal("carol", Assert.IsType<MemberJoined>(applied.Events[0]).ClientId);
        var keys = Assert.IsType<KeyEstablished>(applied.Events[1]);
        Assert.Equal((3UL, 3), (keys.Epoch, keys.MemberCount));
        Assert.Equal(3UL, bob.Apply(second).Epoch);
        Assert.Equal(bob.Session.EpochCode, keys.EpochCode);
    }

    [Fact]
    public void A_second_request_for_the_pending_epoch_sends_nothing_and_the_first_commit_still_applies()
    {
        var observer = new RecordingObserver();
        var (room, _) = AdmittedToBobsRoom(observer: observer);
        var carol = Peer("carol");
        var request = ServerFrames.CommitRequest(Room, 3, [carol.Session.JoinBundle]);
        var first = Single(Take(room.Frame(request)), MessageType.Commit);

        var again = Take(room.Frame(request));

        // The engine offers the same commit again; the room does not send it: the first copy is on this connection.
        Assert.True(observer.Built[^1] is CommitCreated { Repeated: true });
        Assert.Empty(again.Out);
        Assert.Empty(again.Events);
        Assert.Equal(RoomPhase.Committing, room.Phase);
        Assert.Equal(3UL, Assert.IsType<KeyEstablished>(Take(room.Frame(ServerFrames.Relay(first))).Events.Last()).Epoch);
        Assert.Equal(RoomPhase.Ready, room.Phase);
    }

    [Fact]
    public void A_request_for_another_epoch_drops_the_pending_commit()
    {
        var (room, bob) = AdmittedToBobsRoom();
        Single(Take(room.Rekey()), MessageType.Commit);
        Assert.NotNull(room.Session!.PendingCommit);

        var moved = Take(room.Frame(ServerFrames.CommitRequest(Room, 4, [], [bob.Leaving()])));

        Assert.Null(room.Session.PendingCommit);
        Assert.Equal((ErrorCode.CannotCommit, 4ul), (Single(moved, MessageType.Error).Error.Code, moved.Out[0].Epoch)); // the server may ask another member
        Assert.Equal(CommitRefusal.EpochMismatch, Assert.IsType<CommitRequestRefused>(Assert.Single(moved.Events)).Reason);
        Assert.Equal(RoomPhase.Ready, room.Phase);
    }

    [Fact]
    public void A_requested_commit_that_leaves_out_a_bundle_it_may_not_admit_names_that_joiner()
    {
        var (room, _) = AdmittedToBobsRoom();
        var carol = Peer("carol");
        var secondBob = Peer("bob"); // bob is a member and not being removed: a second key for him is not admitted

        var asked = Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [carol.Session.JoinBundle, secondBob.Session.JoinBundle])));

        Assert.Equal(["alice", "bob", "carol"], Content(Single(asked, MessageType.Commit)).Roster.Select(b => BundleContent.Parser.ParseFrom(b.Content).ClientId));
        Assert.Equal("bob", Assert.IsType<JoinerNotAdmitted>(Assert.Single(asked.Events)).ClientId);
    }

    [Fact]
    public void A_request_the_engine_cannot_commit_is_reported_with_the_engines_reason_and_declined_to_the_server()
    {
        var (room, _) = AdmittedToBobsRoom(options: GroupOptions.Default with { MaxMembers = 2 });
        var carol = Peer("carol");

        var asked = Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [carol.Session.JoinBundle])));

        var declined = Single(asked, MessageType.Error); // the server asks the next member at once, not after the deadline
        Assert.Equal((ErrorCode.CannotCommit, Room, 3ul, "alice"), (declined.Error.Code, declined.RoomId, declined.Epoch, declined.SenderId));
        var refused = Assert.IsType<CommitRequestRefused>(Assert.Single(asked.Events));
        Assert.Equal((ClientErrorCode.CommitRequestRefused, CommitRefusal.RosterFull), (refused.Code, refused.Reason));
    }

    [Fact]
    public void The_room_size_the_servers_welcome_announced_bounds_the_commits_made_on_its_connection()
    {
        var (room, _) = AdmittedToBobsRoom(limits: new ServerLimits(MaxMembersPerRoom: 3, MaxFrameBytes: 1024 * 1024));

        var asked = Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [Peer("carol").Session.JoinBundle, Peer("dave").Session.JoinBundle])));

        Assert.Equal(["alice", "bob", "carol"], Content(Single(asked, MessageType.Commit)).Roster.Select(b => BundleContent.Parser.ParseFrom(b.Content).ClientId));
    }

    [Theory]
    [InlineData(1024 * 1024, 4)] // a large limit: every joiner of the request in one commit
    [InlineData(2048, 2)]        // a small one: the first joiners that fit (halving), the server asks again for the rest
    [InlineData(1024, 0)]        // too small for even one: declined
    public void The_frame_limit_the_servers_welcome_announced_bounds_the_commits_made_on_its_connection(int maxFrameBytes, int admitted)
    {
        var (room, _) = AdmittedToBobsRoom(limits: new ServerLimits(MaxMembersPerRoom: 1000, (uint)maxFrameBytes));
        var joiners = new[] { "carol", "dave", "erin", "frank" }.Select(id => Peer(id).Session.JoinBundle).ToList();

        var asked = Take(room.Frame(ServerFrames.CommitRequest(Room, 3, joiners)));

        var frame = Assert.Single(asked.Out);
        if (admitted == 0)
        {
            Assert.Equal(ErrorCode.CannotCommit, frame.Error.Code);
            Assert.Equal(CommitRefusal.CommitTooLarge, Assert.IsType<CommitRequestRefused>(Assert.Single(asked.Events)).Reason);
            return;
        }

        Assert.Equal(joiners.Take(admitted), Content(frame).Operations.Select(o => o.Add.Bundle));
        var relayed = SecureChat.Protocol.Relay.ServerFrames.Commit(Room, "alice", 3, Content(frame).Suite, frame.Commit);
        Assert.InRange(relayed.Length, 1, maxFrameBytes);
    }

    [Fact]
    public void Each_connection_brings_its_servers_limits()
    {
        var (room, bob) = AdmittedToBobsRoom(limits: new ServerLimits(MaxMembersPerRoom: 3, MaxFrameBytes: 1024 * 1024));
        room.LinkLost();
        Single(Take(room.LinkReady(limits: new ServerLimits(MaxMembersPerRoom: 1000, MaxFrameBytes: 1024 * 1024))), MessageType.Join); // another server
        room.Frame(ServerFrames.Joined(Room, 2, 2, mode: JoinMode.Resumed));

        var asked = Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [Peer("carol").Session.JoinBundle, Peer("dave").Session.JoinBundle])));

        Assert.Equal(4, Content(Single(asked, MessageType.Commit)).Roster.Count);
        GC.KeepAlive(bob);
    }

    [Fact]
    public void A_joiner_the_server_could_not_have_admitted_is_told_why_and_is_out_of_the_room()
    {
        var room = NewRoom();
        Take(room.LinkReady());
        room.Frame(ServerFrames.Joined(Room, 1, 1));

        var told = Take(room.Frame(ServerFrames.Error(Room, ErrorCode.NotAdmitted, "no member could make the commit that admits you (2 asked, 3 times)")));

        var refused = Assert.IsType<JoinRefused>(told.Events[0]);
        Assert.Equal((ClientErrorCode.JoinRefused, ErrorCode.NotAdmitted), (refused.Code, refused.WireCode));
        Assert.Contains("no member could make the commit", refused.UntrustedReason, StringComparison.Ordinal);
        Assert.Equal(RoomPhase.Left, room.Phase);
    }

    [Fact]
    public void A_removal_commit_reports_the_member_that_left_with_its_fingerprint()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var commit = Single(Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [], [bob.Leaving()]))), MessageType.Commit);

        var applied = Take(room.Frame(ServerFrames.Relay(commit)));

        var left = Assert.IsType<MemberLeft>(applied.Events[0]);
        Assert.Equal(("bob", bob.Identity.Fingerprint), (left.ClientId, left.Fingerprint));
        Assert.Equal(1, Assert.IsType<KeyEstablished>(applied.Events[1]).MemberCount);
    }

    [Fact]
    public void A_commit_the_engine_refuses_is_reported_and_changes_nothing()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var commit = bob.Rekey();
        var signature = commit.Commit.Signature.ToByteArray();
        signature[0] ^= 1;
        commit.Commit.Signature = ByteString.CopyFrom(signature);

        var refused = Take(room.Frame(commit));

        var reported = Assert.IsType<CommitRefused>(Assert.Single(refused.Events));
        Assert.Equal((CommitRejection.BadSignature, 3UL, false), (reported.Reason, reported.Epoch, reported.Rejoining));
        Assert.Empty(refused.Out);
        Assert.Equal((RoomPhase.Ready, 2UL), (room.Phase, room.Epoch));
    }

    [Fact]
    public void A_changed_identity_key_holds_sends_with_one_warning_until_trusted_then_sends_them_in_order()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var (newBob, applied) = BobComesBackWithANewKey(room, bob);

        var changed = Assert.Single(applied.Events.OfType<KeyChanged>());
        Assert.Equal(("bob", bob.Identity.Fingerprint, newBob.Identity.Fingerprint), (changed.ClientId, changed.PinnedFingerprint, changed.NewFingerprint));
        var first = Take(room.Send("held until trusted"));
        Assert.Equal(["bob"], Assert.IsType<SendHeldForKeyChange>(Assert.Single(first.Events)).BlockingMembers);
        Assert.Empty(first.Out);
        var second = Take(room.Send("also held"));
        Assert.Empty(second.Events);
        Assert.Empty(second.Out);
        Assert.Empty(Take(room.TrustChanged()).Out); // nothing changed in the trust store yet

        Assert.True(_trust.Accept("bob"));
        var flushed = Take(room.TrustChanged());

        Assert.Equal(["held until trusted", "also held"], flushed.Out.Select(newBob.Decrypt));
        var fromNewBob = Assert.IsType<MessageReceived>(Take(room.Frame(newBob.Encrypt("thanks"))).Events.Single());
        Assert.Equal("thanks", fromNewBob.Text);
    }

    [Fact]
    public void Every_message_signed_with_an_unaccepted_key_is_marked_until_that_key_is_accepted()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var (newBob, _) = BobComesBackWithANewKey(room, bob);

        var first = Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(newBob.Encrypt("it's me"))).Events));
        var second = Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(newBob.Encrypt("really"))).Events));
        _trust.Accept("bob", newBob.Identity.PublicIdentityKey);
        var third = Assert.IsType<MessageReceived>(Assert.Single(Take(room.Frame(newBob.Encrypt("compared"))).Events));

        Assert.Equal([("it's me", true), ("really", true), ("compared", false)],
            new[] { first, second, third }.Select(m => (m.Text, m.SenderKeyUnaccepted)));
    }

    [Fact]
    public void Text_typed_offline_is_held_when_members_joined_since_and_goes_to_them_only_after_send_queued()
    {
        var (room, bob) = AdmittedToBobsRoom();
        room.LinkLost();
        Assert.Empty(Take(room.Send("for bob's eyes")).Out);
        var carol = Peer("carol");

        var back = Take(RejoinAfter(room, bob, () => carol.Apply(bob.Admit(carol.Session.JoinBundle)), carol));

        Assert.DoesNotContain(back.Out, e => e.Type == MessageType.Application);
        var held = Assert.IsType<QueuedSendsHeld>(back.Events.Last());
        Assert.Equal((Room, "carol", 1), (held.RoomId, Assert.Single(held.JoinedSince), held.Held));
        Assert.Equal(1, room.QueuedSends);
        Assert.Empty(Take(room.Tick()).Events); // told once, not on every input

        var released = Take(room.SendQueued());

        Assert.Equal(2, released.Events.Count);
        Assert.Equal(1, Assert.IsType<QueuedSendsReleased>(released.Events[0]).Count);
        var sent = Single(released, MessageType.Application);
        var reported = Assert.IsType<MessageSent>(released.Events[1]);
        Assert.Equal((sent.Epoch, sent.Sequence, "for bob's eyes"), (reported.Epoch, reported.Generation, reported.Text));
        Assert.Equal(("for bob's eyes", "for bob's eyes"), (bob.Decrypt(sent), carol.Decrypt(sent)));
        Assert.Equal(0, room.QueuedSends);
        Assert.IsType<NothingHeld>(Assert.Single(Take(room.SendQueued()).Events));
    }

    [Fact]
    public void Held_text_can_be_dropped_and_what_was_typed_after_the_change_still_goes()
    {
        var (room, bob) = AdmittedToBobsRoom();
        room.LinkLost();
        room.Send("typed for bob");
        var carol = Peer("carol");
        RejoinAfter(room, bob, () => carol.Apply(bob.Admit(carol.Session.JoinBundle)), carol);

        var typedNow = Take(room.Send("typed for bob and carol"));
        Assert.Empty(typedNow.Out);
        Assert.Equal(["carol"], Assert.IsType<QueuedSendsHeld>(Assert.Single(typedNow.Events)).JoinedSince); // it waits behind the held one

        var dropped = Take(room.DropQueued());

        Assert.Equal(2, dropped.Events.Count);
        Assert.Equal(1, Assert.IsType<QueuedSendsDropped>(dropped.Events[0]).Count);
        Assert.Equal("typed for bob and carol", Assert.IsType<MessageSent>(dropped.Events[1]).Text);
        Assert.Equal("typed for bob and carol", carol.Decrypt(Single(dropped, MessageType.Application)));
        Assert.IsType<NothingHeld>(Assert.Single(Take(room.DropQueued()).Events));
    }

    [Fact]
    public void A_member_removed_since_the_text_was_typed_does_not_hold_it()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var carol = Peer("carol");
        var addCarol = Single(Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [carol.Session.JoinBundle]))), MessageType.Commit);
        room.Frame(ServerFrames.Relay(addCarol));
        bob.Apply(addCarol);
        room.LinkLost();
        room.Send("typed with carol there");

        var back = Take(RejoinAfter(room, bob, () => bob.Session.ProcessCommit(RemoveCommit(bob, "carol"))));

        Assert.Equal("typed with carol there", bob.Decrypt(back.Out.Single(e => e.Type == MessageType.Application)));
        Assert.DoesNotContain(back.Events, e => e is QueuedSendsHeld);
    }

    public static TheoryData<string> LostKeys() => ["missed commit", "fork", "a wrap that does not open", "removed by a commit", "server says not a member"];

    [Theory]
    [MemberData(nameof(LostKeys))]
    public void When_the_rooms_keys_are_lost_it_leaves_and_rejoins_with_a_new_session_keeping_queued_sends(string cause)
    {
        var (room, bob) = AdmittedToBobsRoom();
        var old = room.Session!;
        var (frame, expected) = LoseKeys(bob, cause);

        var lost = Take(room.Frame(frame));

        Assert.Equal([MessageType.Leave, MessageType.Join], lost.Out.Select(e => e.Type));
        Assert.NotEqual(old.JoinBundle, lost.Out[1].Join.Bundle);
        Assert.NotSame(old, room.Session);
        Assert.Equal(RoomPhase.Joining, room.Phase);
        Assert.Equal(expected, lost.Events.Single());
        Assert.Empty(Take(room.Send("after rejoining")).Out);
        Assert.Equal(1, room.QueuedSends);
    }

    [Fact]
    public void Not_a_member_before_admission_is_reported_not_rejoined()
    {
        var room = NewRoom();
        room.LinkReady();
        room.Frame(ServerFrames.Joined(Room, 1, 1));

        var told = Take(room.Frame(ServerFrames.Error(Room, ErrorCode.NotAMember, "who are you")));

        Assert.Empty(told.Out);
        var error = Assert.IsType<ServerError>(Assert.Single(told.Events));
        Assert.Equal((ClientErrorCode.Server, ErrorCode.NotAMember, "who are you"), (error.Code, error.WireCode, error.UntrustedReason));
        Assert.Equal(RoomPhase.AwaitingAdmission, room.Phase);
    }

    [Fact]
    public void A_refused_join_is_reported_with_the_wire_code_and_closes_the_room()
    {
        var room = NewRoom();
        room.LinkReady();
        room.Send("never sent");

        var refused = Take(room.Frame(ServerFrames.Error(Room, ErrorCode.RoomFull, "room is full")));

        var error = Assert.IsType<JoinRefused>(refused.Events[0]);
        Assert.Equal((ClientErrorCode.JoinRefused, ErrorCode.RoomFull, "room is full"), (error.Code, error.WireCode, error.UntrustedReason));
        Assert.Equal(1, Assert.IsType<QueuedSendsDropped>(refused.Events[1]).Count);
        Assert.IsType<Left>(refused.Events[2]);
        Assert.True(refused.Closed);
        Assert.Empty(refused.Out);
        Assert.Equal(RoomPhase.Left, room.Phase);
        Assert.IsType<NotInRoom>(Assert.Single(Take(room.Send("anyone?")).Events));
    }

    [Fact]
    public void Leaving_sends_leave_reports_what_was_not_sent_and_closes_while_offline_nothing_goes_out()
    {
        var (room, _) = AdmittedToBobsRoom();
        var left = Take(room.Leave());
        Assert.Equal([MessageType.Leave], left.Out.Select(e => e.Type));
        Assert.Equal([typeof(Left)], left.Events.Select(e => e.GetType()));
        Assert.True(left.Closed);
        Assert.Null(room.Session);

        var offline = NewRoom();
        offline.Send("typed offline");
        var gone = Take(offline.Leave());
        Assert.Empty(gone.Out);
        Assert.Equal(1, Assert.IsType<QueuedSendsDropped>(gone.Events[0]).Count);
        Assert.True(gone.Closed);
    }

    [Fact]
    public void A_lost_link_keeps_a_members_session_and_the_next_link_resumes_with_the_missed_commits_and_no_commit_of_its_own()
    {
        var (room, bob) = AdmittedToBobsRoom();
        var session = room.Session!;
        var missed = bob.Rekey();
        room.Frame(bob.Encrypt("held"));
        Assert.Single(room.Held);

        var lost = Take(room.LinkLost());
        Assert.Equal(Room, Assert.IsType<RoomOffline>(Assert.Single(lost.Events)).RoomId);
        Assert.Equal((RoomPhase.Offline, 2UL), (room.Phase, room.Epoch));
        Assert.Same(session, room.Session);
        Assert.Empty(Take(room.Frame(bob.Encrypt("to the old connection"))).Events);
        Assert.Empty(Take(room.Send("typed offline")).Out);

        var resume = Single(Take(room.LinkReady()), MessageType.Join);
        Assert.Equal((session.CurrentBundle, 2UL), (resume.Join.Bundle, resume.Join.KnownEpoch)); // its roster entry, byte for byte
        var caughtUp = Take(room.Frame(missed));
        Assert.Equal(3UL, Assert.IsType<KeyEstablished>(Assert.Single(caughtUp.Events)).Epoch);
        Assert.Equal((RoomPhase.Joining, 1), (room.Phase, room.QueuedSends)); // back only once JOINED ends the resend
        var back = Take(room.Frame(ServerFrames.Joined(Room, 3, 2, mode: JoinMode.Resumed)));

        Assert.Equal(new Resumed(Room, 2, 3, 1), back.Events[0]);
        Assert.Equal("held", Assert.IsType<MessageReceived>(back.Events[1]).Text);
        Assert.Equal("typed offline", bob.Decrypt(Single(back, MessageType.Application)));
        Assert.Equal((RoomPhase.Ready, 3UL), (room.Phase, room.Epoch));
        Assert.Same(session, room.Session);
        Assert.Empty(caughtUp.Out); // no commit, no leave: the reconnect cost nothing but the JOIN
    }

    [Fact]
    public void A_lost_link_before_admission_drops_the_session_and_the_next_link_joins_with_a_fresh_bundle()
    {
        var room = NewRoom();
        var first = Single(Take(room.LinkReady()), MessageType.Join);
        room.Frame(ServerFrames.Joined(Room, 1, 1));

        room.LinkLost();

        Assert.Null(room.Session);
        var again = Single(Take(room.LinkReady()), MessageType.Join);
        Assert.NotEqual(first.Join.Bundle, again.Join.Bundle);
        Assert.Equal(0UL, again.Join.KnownEpoch);
    }

    [Fact]
    public void A_resume_answered_rejoin_needed_joins_afresh_with_a_new_key_and_says_why()
    {
        var (room, _) = AdmittedToBobsRoom();
        var old = room.Session!;
        room.LinkLost();
        room.LinkReady();

        var answered = Take(room.Frame(ServerFrames.Joined(Room, 9, 2, mode: JoinMode.RejoinNeeded)));

        Assert.Equal([MessageType.Leave, MessageType.Join], answered.Out.Select(e => e.Type));
        Assert.NotEqual(old.CurrentBundle, answered.Out[1].Join.Bundle);
        Assert.Equal(RejoinReason.ResumeNotPossible, Assert.IsType<Rejoining>(Assert.Single(answered.Events)).Reason);
        Assert.Equal(RoomPhase.Joining, room.Phase);
    }

    [Fact]
    public void A_member_removed_while_away_is_told_by_whom_and_why_when_it_resumes_then_joins_afresh()
    {
        var (room, bob) = AdmittedToBobsRoom();
        room.LinkLost();
        var removal = bob.Remove("alice");
        room.LinkReady();

        var told = Take(room.Frame(removal));
        var rejoining = Assert.IsType<Rejoining>(Assert.Single(told.Events));
        Assert.Equal((RejoinReason.RemovedFromRoom, RemoveReason.Removed, "bob"), (rejoining.Reason, rejoining.Removal, rejoining.RemovedBy));
        Assert.Empty(told.Out); // the JOIN out is still answered first

        var answered = Take(room.Frame(ServerFrames.Joined(Room, 3, 1, mode: JoinMode.RejoinNeeded)));
        Assert.Equal([MessageType.Leave, MessageType.Join], answered.Out.Select(e => e.Type));
        Assert.Empty(answered.Events); // told once
    }

    [Fact]
    public void A_sent_message_waits_for_its_relayed_and_once_acknowledged_is_never_reported()
    {
        var (room, bob) = AdmittedToBobsRoom();

        var sent = Take(room.Send("hello"));
        var message = Single(sent, MessageType.Application);
        Assert.Equal((TimeSpan.FromSeconds(10), 1), (sent.AckCheckIn, room.Unacknowledged));
        Assert.Equal("hello", bob.Decrypt(message));
        Assert.Equal(new MessageSent(Room, message.Epoch, message.Sequence, "hello"), Assert.Single(sent.Events));

        var acknowledged = Take(room.Frame(ServerFrames.Relayed(message)));
        Assert.Equal(new MessageRelayed(Room, message.Epoch, message.Sequence), Assert.Single(acknowledged.Events));
        Assert.Empty(Take(room.Frame(ServerFrames.Relayed(message))).Events); // a second RELAYED for it is ignored
        Assert.Empty(acknowledged.Out);
        Assert.Equal(0, room.Unacknowledged);
        _clock.Advance(10_001);
        Assert.Empty(Take(room.AcksOverdue()).Events);
        Assert.Empty(Take(room.LinkLost()).Events.OfType<MessageNotDelivered>());
    }

    [Fact]
    public void Without_relayed_in_time_each_message_is_reported_once_at_its_own_deadline_and_not_sent_again()
    {
        var (room, _) = AdmittedToBobsRoom(new ClientSessionSettings { AckTimeout = TimeSpan.FromSeconds(5) });
        var first = Single(Take(room.Send("one")), MessageType.Application);
        _clock.Advance(3_000);
        var secondSent = Take(room.Send("two"));
        var second = Single(secondSent, MessageType.Application);
        Assert.Null(secondSent.AckCheckIn); // the check set for "one" comes first and asks for the next itself

        _clock.Advance(2_000);
        var overdue = Take(room.AcksOverdue());
        var notDelivered = Assert.IsType<MessageNotDelivered>(Assert.Single(overdue.Events));
        Assert.Equal((Room, first.Epoch, first.Sequence, "one", NotDeliveredReason.NoAcknowledgement, ClientErrorCode.MessageNotDelivered),
            (notDelivered.RoomId, notDelivered.Epoch, notDelivered.Generation, notDelivered.Preview, notDelivered.Reason, notDelivered.Code));
        Assert.Empty(overdue.Out);
        Assert.Equal((TimeSpan.FromSeconds(3), 1), (overdue.AckCheckIn, room.Unacknowledged));

        Assert.Empty(Take(room.Frame(ServerFrames.Relayed(first))).Events); // too late: already reported
        _clock.Advance(3_000);
        var last = Take(room.AcksOverdue());
        Assert.Equal(("two", second.Sequence), (Assert.IsType<MessageNotDelivered>(Assert.Single(last.Events)).Preview, second.Sequence));
        Assert.Null(last.AckCheckIn);
        Assert.Empty(Take(room.AcksOverdue()).Events);
    }

    [Fact]
    public void A_lost_link_reports_every_message_still_waiting_for_relayed_and_a_later_relayed_changes_nothing()
    {
        var (room, _) = AdmittedToBobsRoom();
        var messages = new[] { "one", "two", "three" }.Select(text => Single(Take(room.Send(text)), MessageType.Application)).ToList();
        room.Frame(ServerFrames.Relayed(messages[1]));

        var lost = Take(room.LinkLost());

        Assert.IsType<RoomOffline>(lost.Events[0]);
        var reported = lost.Events.Skip(1).Cast<MessageNotDelivered>().ToList();
        Assert.Equal(["one", "three"], reported.Select(m => m.Preview));
        Assert.Equal([messages[0].Sequence, messages[2].Sequence], reported.Select(m => m.Generation));
        Assert.All(reported, m => Assert.Equal(NotDeliveredReason.LinkLost, m.Reason));
        Assert.Equal(0, room.Unacknowledged);
        Assert.Empty(Take(room.Frame(ServerFrames.Relayed(messages[0]))).Events);
    }

    [Theory]
    [InlineData(ErrorCode.StaleEpoch)]
    [InlineData(ErrorCode.NotAMember)]
    public void A_refusal_naming_a_sent_message_reports_that_message_with_the_servers_words(ErrorCode code)
    {
        var (room, _) = AdmittedToBobsRoom();
        var kept = Single(Take(room.Send("kept")), MessageType.Application);
        var refused = Single(Take(room.Send("refused")), MessageType.Application);

        var told = Take(room.Frame(ServerFrames.Refusal(refused, code, "not now")));

        var notDelivered = Assert.IsType<MessageNotDelivered>(told.Events[0]);
        Assert.Equal(("refused", refused.Epoch, refused.Sequence, NotDeliveredReason.Refused, code, "not now"),
            (notDelivered.Preview, notDelivered.Epoch, notDelivered.Generation, notDelivered.Reason, notDelivered.WireCode, notDelivered.UntrustedServerReason));
        Assert.DoesNotContain(told.Events, e => e is ServerError);
        Assert.Equal(1, room.Unacknowledged);
        Assert.IsType<MessageRelayed>(Assert.Single(Take(room.Frame(ServerFrames.Relayed(kept))).Events));
        Assert.Equal(0, room.Unacknowledged);
    }

    [Fact]
    public void A_refusal_naming_no_sent_message_stays_a_server_error()
    {
        var (room, _) = AdmittedToBobsRoom();
        var sent = Single(Take(room.Send("waiting")), MessageType.Application);

        var other = sent.Clone();
        other.Sequence += 1;
        var told = Take(room.Frame(ServerFrames.Refusal(other, ErrorCode.StaleEpoch, "stale")));

        Assert.Equal(ErrorCode.StaleEpoch, Assert.IsType<ServerError>(Assert.Single(told.Events)).WireCode);
        Assert.Equal(1, room.Unacknowledged);
    }

    [Fact]
    public void Leaving_reports_what_was_sent_but_not_acknowledged_and_a_long_text_by_its_start()
    {
        var (room, _) = AdmittedToBobsRoom();
        var text = new string('a', 100);
        room.Send(text);

        var left = Take(room.Leave());

        var notDelivered = Assert.IsType<MessageNotDelivered>(left.Events[0]);
        Assert.Equal((NotDeliveredReason.RoomLeft, new string('a', MessageNotDelivered.MaxPreviewLength - 3) + "..."),
            (notDelivered.Reason, notDelivered.Preview));
        Assert.IsType<Left>(left.Events[1]);
    }

    [Fact]
    public void The_send_queue_is_bounded_and_warns_once_when_full()
    {
        var room = NewRoom(new ClientSessionSettings { MaxQueuedSends = 2 });
        room.LinkReady();

        var warnings = Enumerable.Range(0, 4).SelectMany(i => Take(room.Send($"m{i}")).Events).ToList();

        Assert.Equal(2, Assert.IsType<SendQueueFull>(Assert.Single(warnings)).Queued);
        Assert.Equal(2, room.QueuedSends);
    }

    [Fact]
    public void After_enough_messages_the_room_commits_a_rekey_by_itself()
    {
        var (room, bob) = AdmittedToBobsRoom(options: GroupOptions.Default with { RekeyAfterMessages = 3 });
        Single(Take(room.Send("1")), MessageType.Application);
        Single(Take(room.Send("2")), MessageType.Application);

        var third = Take(room.Send("3"));

        Assert.Equal([MessageType.Application, MessageType.Commit], third.Out.Select(e => e.Type));
        Assert.Equal(RoomPhase.Committing, room.Phase);
        Assert.Empty(Content(third.Out[1]).Operations); // a rekey
        Assert.Equal(3UL, Assert.IsType<KeyEstablished>(Take(room.Frame(ServerFrames.Relay(third.Out[1]))).Events.Single()).Epoch);
        Assert.Equal(3UL, bob.Apply(third.Out[1]).Epoch);
    }

    [Fact]
    public void A_rekey_the_relay_refuses_is_not_committed_again_on_every_send_but_after_the_retry_delay()
    {
        var settings = new ClientSessionSettings { RekeyRetryDelay = TimeSpan.FromSeconds(60) };
        var (room, _) = AdmittedToBobsRoom(settings, GroupOptions.Default with { RekeyAfterMessages = 1 });
        var rekey = Take(room.Send("1")).Out[1];
        Assert.Empty(Content(rekey).Operations);

        var refused = ServerFrames.Error(Room, ErrorCode.CommitRejected, "too many rekeys: at most 10 per member per minute");
        refused.Epoch = rekey.Epoch;
        room.Frame(refused);

        Assert.Equal(RoomPhase.Ready, room.Phase);
        Assert.Equal([MessageType.Application], Take(room.Send("2")).Out.Select(e => e.Type));
        Assert.Empty(Take(room.Tick()).Out);
        _clock.Advance(59_999);
        Assert.Empty(Take(room.Tick()).Out);
        _clock.Advance(1);
        Assert.Empty(Content(Single(Take(room.Tick()), MessageType.Commit)).Operations);
    }

    [Fact]
    public void An_epoch_in_use_for_too_long_is_rekeyed_on_the_tick_or_the_next_send_but_an_idle_one_is_not()
    {
        var options = GroupOptions.Default with { RekeyAfterMs = 60_000 };
        var (ticking, _) = AdmittedToBobsRoom(options: options);
        Single(Take(ticking.Send("in use")), MessageType.Application);
        var (idle, _) = AdmittedToBobsRoom(options: options, creator: "carol"); // bob's key is pinned by the first room
        _clock.Advance(60_000);

        Assert.Empty(Content(Single(Take(ticking.Tick()), MessageType.Commit)).Operations);
        Assert.Equal(RoomPhase.Committing, ticking.Phase);
        Assert.Empty(Take(idle.Tick()).Out);
        Assert.Equal([MessageType.Application, MessageType.Commit], Take(idle.Send("now in use")).Out.Select(e => e.Type));
    }

    [Fact]
    public void The_admission_timer_warns_while_waiting_and_means_nothing_once_admitted()
    {
        var bob = Peer("bob");
        bob.CreateRoom();
        var room = NewRoom(new ClientSessionSettings { AdmissionTimeout = TimeSpan.FromSeconds(7) });
        var join = Single(Take(room.LinkReady()), MessageType.Join);
        room.Frame(ServerFrames.Joined(Room, 1, 1));

        var overdue = Assert.IsType<StillWaitingForAdmission>(Assert.Single(Take(room.AdmissionOverdue()).Events));
        Assert.Equal(TimeSpan.FromSeconds(7), overdue.Waited);

        room.Frame(bob.Admit(join.Join.Bundle));
        Assert.Empty(Take(room.AdmissionOverdue()).Events);
        Assert.Equal(AdmissionTimer.Cancel, Take(room.LinkLost()).Timer);
    }

    [Fact]
    public void The_observer_sees_each_engine_outcome_the_room_acts_on()
    {
        var observer = new RecordingObserver();
        var (room, bob) = AdmittedToBobsRoom(observer: observer);
        room.Send("out");
        room.Frame(bob.Encrypt("in"));
        var rekey = Single(Take(room.Rekey()), MessageType.Commit);
        room.Frame(ServerFrames.Relay(rekey));

        Assert.IsType<CommitAccepted>(Assert.Single(observer.Processed));
        Assert.IsType<MessageSealed>(Assert.Single(observer.Sealed));
        Assert.IsType<MessageDelivered>(Assert.Single(observer.Decrypted));
        Assert.True(Assert.Single(observer.Built) is CommitCreated { Repeated: false });
    }

    [Fact]
    public void Sessions_the_room_drops_are_erased_unless_the_opener_keeps_them()
    {
        var (owning, bob) = AdmittedToBobsRoom();
        var erased = owning.Session!;
        owning.Frame(ServerFrames.Error(Room, ErrorCode.NotAMember, "not a member")); // the room rejoins with a new session
        Assert.False(Reads(erased, bob.Encrypt("after the session was replaced")));

        var (keeping, carol) = AdmittedToBobsRoom(keepSessions: true, creator: "carol");
        var kept = keeping.Session!;
        keeping.Frame(ServerFrames.Error(Room, ErrorCode.NotAMember, "not a member"));
        Assert.True(Reads(kept, carol.Encrypt("after the session was replaced")));
    }

    private static (Envelope Frame, ClientEvent Expected) LoseKeys(EnginePeer bob, string cause)
    {
        switch (cause)
        {
            case "missed commit":
                bob.Rekey();
                return (bob.Rekey(), new CommitRefused(Room, CommitRejection.EpochGap, 4, Rejoining: true));
            case "fork":
                var genuine = bob.Rekey();
                var content = CommitContent.Parser.ParseFrom(genuine.Commit.Content);
                content.PreviousTranscriptHash = ByteString.CopyFrom(new byte[32]);
                // Signed by bob, on another history: a fork (an unsigned one would cause nothing).
                genuine.Commit = new SignedCommit
                {
                    Content = content.ToByteString(),
                    Signature = ByteString.CopyFrom(bob.Identity.IdentityKey.Sign(Labels.CommitSignature, content.ToByteArray())),
                    ConfirmationTag = genuine.Commit.ConfirmationTag,
                };
                return (genuine, new CommitRefused(Room, CommitRejection.TranscriptMismatch, 3, Rejoining: true));
            case "a wrap that does not open":
                // Bob signs a rekey whose wrap for alice is damaged: a member's genuine commit alice cannot use.
                var rekey = bob.Rekey();
                var damaged = CommitContent.Parser.ParseFrom(rekey.Commit.Content);
                var wrap = damaged.Wraps.Single(w => w.RecipientId == "alice");
                var sealedSecret = wrap.SealedSecret.ToByteArray();
                sealedSecret[0] ^= 1;
                wrap.SealedSecret = ByteString.CopyFrom(sealedSecret);
                var bytes = damaged.ToByteArray();
                rekey.Commit = new SignedCommit
                {
                    Content = ByteString.CopyFrom(bytes),
                    Signature = ByteString.CopyFrom(bob.Identity.IdentityKey.Sign(Labels.CommitSignature, bytes)),
                    ConfirmationTag = rekey.Commit.ConfirmationTag,
                };
                return (rekey, new CommitRefused(Room, CommitRejection.WrapFailed, 3, Rejoining: true));
            case "removed by a commit":
                var removal = Assert.IsType<CommitCreated>(bob.Session.CreateRemoveCommit(["alice"]));
                bob.Session.ProcessCommit(removal.Commit);
                return (bob.Session.CommitEnvelope(removal.Commit),
                    new Rejoining(Room, RejoinReason.RemovedFromRoom, null) { Removal = RemoveReason.Removed, RemovedBy = "bob" });
            default:
                return (ServerFrames.Error(Room, ErrorCode.NotAMember, "not in the roster"), new Rejoining(Room, RejoinReason.ServerSaysNotAMember, "not in the roster"));
        }
    }

    /// <summary>
    /// Alice's link came back after bob removed her while she was away, then <paramref name="meanwhile"/> happened: her resume
    /// gets the removal and JOINED REJOIN_NEEDED, she joins afresh, and bob admits her new session (applied by
    /// <paramref name="alsoApplying"/> too). Returns the admission's effects.
    /// </summary>
    private static RoomEffects RejoinAfter(ClientRoom room, EnginePeer bob, Action meanwhile, params EnginePeer[] alsoApplying)
    {
        var removal = bob.Remove("alice");
        meanwhile();
        Assert.NotEqual(0UL, Single(Take(room.LinkReady()), MessageType.Join).Join.KnownEpoch);
        room.Frame(removal);
        var join = Take(room.Frame(ServerFrames.Joined(Room, bob.Session.Epoch, (uint)bob.Session.Roster.Count, mode: JoinMode.RejoinNeeded))).Out
            .Single(e => e.Type == MessageType.Join);
        room.Frame(ServerFrames.Joined(Room, bob.Session.Epoch, (uint)bob.Session.Roster.Count));
        var admit = bob.Admit(join.Join.Bundle);
        foreach (var peer in alsoApplying)
        {
            peer.Apply(admit);
        }

        return room.Frame(admit);
    }

    private static SignedCommit RemoveCommit(EnginePeer committer, string removed) =>
        Assert.IsType<CommitCreated>(committer.Session.CreateRemoveCommit([removed])).Commit;

    /// <summary>Alice commits bob's removal, then (asked by the server) the admission of a new bob with another identity key.</summary>
    private (EnginePeer NewBob, Step Admitted) BobComesBackWithANewKey(ClientRoom room, EnginePeer bob)
    {
        room.Frame(ServerFrames.Relay(Single(Take(room.Frame(ServerFrames.CommitRequest(Room, 3, [], [bob.Leaving()]))), MessageType.Commit)));
        var newBob = Peer("bob");
        var admit = Single(Take(room.Frame(ServerFrames.CommitRequest(Room, 4, [newBob.Session.JoinBundle]))), MessageType.Commit);
        var admitted = Take(room.Frame(ServerFrames.Relay(admit)));
        newBob.Apply(admit);
        return (newBob, admitted);
    }

    /// <summary>Bob (engine; or <paramref name="creator"/>) created the room; alice joins it and is admitted at epoch 2.</summary>
    private (ClientRoom Room, EnginePeer Bob) AdmittedToBobsRoom(ClientSessionSettings? settings = null, GroupOptions? options = null,
        RecordingObserver? observer = null, bool keepSessions = false, string creator = "bob", ServerLimits? limits = null)
    {
        var bob = Peer(creator);
        bob.CreateRoom();
        var room = NewRoom(settings, options, observer, keepSessions);
        var join = Single(Take(room.LinkReady(limits: limits)), MessageType.Join);
        room.Frame(ServerFrames.Joined(Room, 1, 1));
        room.Frame(bob.Admit(join.Join.Bundle));
        Assert.Equal((RoomPhase.Ready, 2UL), (room.Phase, room.Epoch));
        observer?.Clear();
        return (room, bob);
    }

    private ClientRoom NewRoom(ClientSessionSettings? settings = null, GroupOptions? options = null, IRoomObserver? observer = null, bool keepSessions = false)
    {
        var room = new ClientRoom(Room, () =>
        {
            var session = new GroupSession(_alice, Room, _trust, options, _clock, SystemRandomSource.Instance);
            _opened.Add(session);
            return session;
        }, _clock, settings, observer)
        { OwnsSessions = !keepSessions };
        _owned.Add(room);
        if (keepSessions)
        {
            _owned.Add(new Disposer(() => _opened.ForEach(s => s.Dispose())));
        }

        return room;
    }

    private EnginePeer Peer(string id)
    {
        var peer = new EnginePeer(id, Room);
        _owned.Add(peer);
        return peer;
    }

    private static bool Reads(GroupSession session, Envelope message)
    {
        try
        {
            return session.Decrypt(message) is MessageDelivered;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private static CommitContent Content(Envelope commit) => CommitContent.Parser.ParseFrom(commit.Commit.Content);

    private static Step Take(RoomEffects effects) => new([.. effects.Outbound], [.. effects.Events], effects.Timer, effects.Closed, effects.AckCheckIn);

    private static Envelope Single(Step step, MessageType type)
    {
        var envelope = Assert.Single(step.Out);
        Assert.Equal(type, envelope.Type);
        return envelope;
    }

    /// <summary>A snapshot of one input's effects (the room reuses its effects object).</summary>
    private sealed record Step(List<Envelope> Out, List<ClientEvent> Events, AdmissionTimer Timer, bool Closed, TimeSpan? AckCheckIn);

    private sealed class Disposer(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    private sealed class RecordingObserver : IRoomObserver
    {
        public List<DecryptOutcome> Decrypted { get; } = [];

        public List<CommitOutcome> Processed { get; } = [];

        public List<CommitCreation> Built { get; } = [];

        public List<SendOutcome> Sealed { get; } = [];

        public void Clear()
        {
            Decrypted.Clear();
            Processed.Clear();
            Built.Clear();
            Sealed.Clear();
        }

        void IRoomObserver.Decrypted(DecryptOutcome outcome) => Decrypted.Add(outcome);

        void IRoomObserver.CommitProcessed(CommitOutcome outcome) => Processed.Add(outcome);

        void IRoomObserver.CommitBuilt(CommitCreation creation) => Built.Add(creation);

        void IRoomObserver.Encrypted(SendOutcome outcome) => Sealed.Add(outcome);
    }
}
