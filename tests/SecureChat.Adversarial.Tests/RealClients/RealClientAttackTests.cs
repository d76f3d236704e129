using Akka.Actor;
using Google.Protobuf;
using SecureChat.Adversarial.Tests.Plaintext;
using SecureChat.Client;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;
using SecureChat.Protocol.Group;
using SecureChat.Testing.Honest;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;
using Xunit.Abstractions;
using Envelope = SecureChat.Core.Wire.Envelope;

namespace SecureChat.Adversarial.Tests.RealClients;

/// <summary>
/// Real clients (ChatClient → ClientSessionActor → RoomSessionActor → ClientRoom → engine, over real TLS) and the real
/// server, with a man in the middle on every connection. Each test states what the victim's user sees.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes it through IAsyncLifetime.DisposeAsync")]
public sealed class RealClientAttackTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Room = "lobby";
    private readonly ActorSystem _system = ActorSystem.Create("adversarial-clients", ClientHocon.Quiet);
    private readonly List<TestChatClient> _clients = [];
    private TestServer _server = null!;
    private TlsInterceptor _mitm = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(output);
        _mitm = new TlsInterceptor(_server);
        foreach (var id in new[] { "alice", "bob", "carol" })
        {
            await JoinAsync(id);
        }
    }

    private TestChatClient this[string id] => _clients.Single(c => c.Id == id);

    private TestChatClient StartBehindMitm(string id) => TestChatClient.Start(_server.ChatClientOptions(id, _mitm.Port), _system);

    private async Task<TestChatClient> JoinAsync(string id)
    {
        var client = StartBehindMitm(id);
        _clients.Add(client);
        await client.WaitForAsync<Connected>();
        client.Client.Join(Room);
        await Eventually.TrueAsync(() => SameEpochEverywhere(), $"{id} joined and everyone shares the epoch");
        return client;
    }

    private bool SameEpochEverywhere()
    {
        var epochs = _clients.Select(c => c.Events.OfType<KeyEstablished>().LastOrDefault()?.Epoch).ToList();
        return epochs.All(e => e is not null) && epochs.Distinct().Count() == 1 && epochs[0] >= (ulong)_clients.Count;
    }

    private async Task SendAndAwaitAsync(string sender, string text, params string[] receivers)
    {
        this[sender].Client.Send(Room, text);
        foreach (var receiver in receivers)
        {
            await this[receiver].WaitForAsync<MessageReceived>(m => m.SenderId == sender && m.Text == text);
        }
    }

    private void AssertReceivedOnce(string receiver, string sender, string text) =>
        Assert.Single(this[receiver].Received, m => m.SenderId == sender && m.Text == text);

    [Fact]
    public async Task Duplicated_and_replayed_frames_reach_the_client_but_each_message_is_shown_once_with_a_replay_warning()
    {
        _mitm.Attack = (to, direction, e) => to == "bob" && direction == Direction.ToClient && e.Type == MessageType.Application ? [e, e.Clone()] : [e];
        await SendAndAwaitAsync("alice", "once only 1", "bob", "carol");
        await SendAndAwaitAsync("alice", "once only 2", "bob", "carol");
        await this["bob"].WaitForAsync<MessageDropped>(w => w.Reason == DecryptRejection.Replay && w.SenderId == "alice");

        // Later, the recording is replayed wholesale.
        _mitm.Attack = null;
        foreach (var recorded in _mitm.RecordedFor("bob", MessageType.Application).ToList())
        {
            await _mitm.InjectAsync("bob", recorded);
        }

        await SendAndAwaitAsync("alice", "after the attack", "bob", "carol");
        AssertReceivedOnce("bob", "alice", "once only 1");
        AssertReceivedOnce("bob", "alice", "once only 2");
        AssertReceivedOnce("bob", "alice", "after the attack");
        Assert.Equal(3, this["bob"].Received.Count);
    }

    [Fact]
    public async Task A_flipped_bit_is_reported_as_a_failed_message_nothing_is_shown_and_the_untouched_copy_still_opens()
    {
        _mitm.Attack = (to, direction, e) =>
        {
            if (to != "bob" || direction != Direction.ToClient || e.Type != MessageType.Application)
            {
                return [e];
            }

            var flipped = e.Clone();
            var bytes = flipped.Ciphertext.ToByteArray();
            bytes[bytes.Length / 2] ^= 0x04;
            flipped.Ciphertext = ByteString.CopyFrom(bytes);
            return [flipped];
        };
        this["alice"].Client.Send(Room, "tampered in transit");
        await this["carol"].WaitForAsync<MessageReceived>(m => m.Text == "tampered in transit");
        var failed = await this["bob"].WaitForAsync<DecryptFailed>();
        Assert.Equal(("alice", DecryptRejection.AuthenticationFailed), (failed.SenderId, failed.Reason));
        Assert.Empty(this["bob"].Received);

        _mitm.Attack = null;
        await _mitm.InjectAsync("bob", _mitm.RecordedFor("bob", MessageType.Application).Single());
        await this["bob"].WaitForAsync<MessageReceived>(m => m.Text == "tampered in transit");
        await SendAndAwaitAsync("carol", "and on we go", "alice", "bob");
        AssertReceivedOnce("bob", "alice", "tampered in transit");
    }

    [Fact]
    public async Task A_commit_with_a_ghost_slipped_in_is_refused_for_its_signature_and_the_genuine_one_still_applies()
    {
        using var ghost = Protocol.Identity.LocalIdentity.Generate("ghost", Protocol.Infrastructure.SystemRandomSource.Instance);
        using var ghostKey = ghost.CreateMembershipKey(Room, 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 3_600_000, Protocol.Infrastructure.SystemRandomSource.Instance);
        _mitm.Attack = (to, direction, e) => to == "bob" && direction == Direction.ToClient && e.Type == MessageType.Commit ? [WithGhost(e, ghostKey.Bundle)] : [e];

        var dave = StartBehindMitm("dave");
        _clients.Add(dave);
        await dave.WaitForAsync<Connected>();
        dave.Client.Join(Room);
        await dave.WaitForAsync<KeyEstablished>();

        var refused = await this["bob"].WaitForAsync<CommitRefused>();
        output.WriteLine($"bob was told: {refused}");
        Assert.Equal((CommitRejection.BadSignature, false), (refused.Reason, refused.Rejoining));
        Assert.DoesNotContain((await this["bob"].Client.GetRosterAsync(Room)).Members, m => m.ClientId is "ghost" or "dave");

        // The attack stops: the genuine commit reaches bob, and he is back with everyone, without a ghost.
        _mitm.Attack = null;
        await _mitm.InjectAsync("bob", _mitm.RecordedFor("bob", MessageType.Commit).Last());
        await Eventually.TrueAsync(SameEpochEverywhere, "bob applied the genuine commit");
        Assert.Equal(["alice", "bob", "carol", "dave"], (await this["bob"].Client.GetRosterAsync(Room)).Members.Select(m => m.ClientId).Order(StringComparer.Ordinal));
        await SendAndAwaitAsync("dave", "hello all", "alice", "bob", "carol");
        await SendAndAwaitAsync("bob", "hello dave", "alice", "carol", "dave");
    }

    [Fact]
    public async Task An_unsigned_commit_with_a_wrong_transcript_causes_nothing_but_a_report()
    {
        // v2 checks the signature before the epoch and the transcript (PROTOCOL.md §8.4), so a forged frame for the next
        // epoch with a wrong transcript hash is refused for its signature: no rejoin, no state change.
        var genuine = _mitm.RecordedFor("bob", MessageType.Commit).Last();
        var content = CommitContent.Parser.ParseFrom(genuine.Commit.Content);
        content.Epoch += 1;
        content.Operations.Clear();
        var forged = genuine.Clone();
        forged.Epoch = content.Epoch;
        forged.Commit = new SignedCommit
        {
            Content = content.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]), ConfirmationTag = ByteString.CopyFrom(new byte[32]),
        };

        await _mitm.InjectAsync("bob", forged);

        var told = await this["bob"].WaitForAsync<CommitRefused>();
        output.WriteLine($"bob was told: {told}");
        Assert.Equal((CommitRejection.BadSignature, false), (told.Reason, told.Rejoining));
        Assert.Equal(genuine.Epoch, (await this["bob"].Client.GetRosterAsync(Room)).Epoch);
        await SendAndAwaitAsync("alice", "still the same room", "bob", "carol");
        await SendAndAwaitAsync("bob", "and bob can still talk", "alice", "carol");
    }

    private static Envelope WithGhost(Envelope envelope, SignedBundle ghost)
    {
        var copy = envelope.Clone();
        var content = CommitContent.Parser.ParseFrom(copy.Commit.Content);
        var roster = content.Roster.Append(ghost).OrderBy(b => BundleContent.Parser.ParseFrom(b.Content).ClientId, StringComparer.Ordinal).ToList();
        var index = roster.IndexOf(ghost);
        content.Roster.Clear();
        content.Roster.AddRange(roster);
        content.Operations.Add(new Operation { Add = new Add { Bundle = ghost } });
        content.Wraps.Insert(index, new Wrap { RecipientId = "ghost", RecipientKeyId = 1, EphemeralKey = ByteString.CopyFrom(new byte[32]), SealedSecret = ByteString.CopyFrom(new byte[48]) });
        copy.Commit = new SignedCommit { Content = content.ToByteString(), Signature = copy.Commit.Signature, ConfirmationTag = copy.Commit.ConfirmationTag };
        return copy;
    }

    [Fact]
    public async Task A_withheld_commit_makes_the_client_detect_the_gap_rejoin_and_receive_again()
    {
        // The relay hides dave's admission from bob; the next change (erin) leaves bob a gap he must notice.
        _mitm.Attack = (to, direction, e) => to == "bob" && direction == Direction.ToClient && e.Type == MessageType.Commit ? [] : [e];
        var dave = StartBehindMitm("dave");
        _clients.Add(dave);
        await dave.WaitForAsync<Connected>();
        dave.Client.Join(Room);
        await dave.WaitForAsync<KeyEstablished>();
        _mitm.Attack = null;

        var erin = StartBehindMitm("erin");
        _clients.Add(erin);
        await erin.WaitForAsync<Connected>();
        erin.Client.Join(Room);

        var gap = await this["bob"].WaitForAsync<CommitRefused>();
        output.WriteLine($"bob was told: {gap}");
        Assert.Equal((CommitRejection.EpochGap, true), (gap.Reason, gap.Rejoining));
        await Eventually.TrueAsync(SameEpochEverywhere, "bob rejoined and everyone shares the epoch");
        await SendAndAwaitAsync("alice", "welcome back bob", "bob", "carol", "dave", "erin");
        await SendAndAwaitAsync("bob", "thanks", "alice", "carol", "dave", "erin");
    }

    [Fact]
    public async Task An_impostor_with_a_server_issued_certificate_for_bob_is_shown_as_a_key_change_and_gets_nothing()
    {
        // The server operator issues itself a certificate for "bob" and joins with a fresh identity key.
        await using var impostor = TestChatClient.Start(_server.ChatClientOptions("bob") with { ActorName = "impostor-bob" }, _system);
        await impostor.WaitForAsync<Connected>();
        impostor.Client.Join(Room);

        foreach (var member in new[] { "alice", "carol" })
        {
            var changed = await this[member].WaitForAsync<KeyChanged>();
            output.WriteLine($"{member} was told: {changed}");
            Assert.Equal(ClientErrorCode.KeyChanged, changed.Code);
            Assert.Equal(("bob", impostor.Client.Fingerprint), (changed.ClientId, changed.NewFingerprint));
            Assert.NotEqual(changed.PinnedFingerprint, changed.NewFingerprint);
        }

        this["alice"].Client.Send(Room, "for the real bob only");
        await this["alice"].WaitForAsync<SendHeldForKeyChange>(w => w.BlockingMembers.SequenceEqual(["bob"]));
        Assert.Empty(impostor.Received);
        Assert.DoesNotContain(this["carol"].Received, m => m.Text == "for the real bob only");

        // What the impostor says reaches them, and every line of it is marked as signed by a key they have not accepted.
        impostor.Client.Send(Room, "it's me, bob");
        impostor.Client.Send(Room, "send me the code");
        foreach (var member in new[] { "alice", "carol" })
        {
            await this[member].WaitForAsync<MessageReceived>(m => m.Text == "send me the code");
            Assert.Equal([("it's me, bob", true), ("send me the code", true)],
                this[member].Received.Where(m => m.SenderId == "bob").Select(m => (m.Text, m.SenderKeyUnaccepted)));
        }
    }

    [Fact]
    public async Task Two_branches_shown_to_two_halves_show_different_epoch_codes_fail_to_read_each_other_and_heal_at_the_next_commit()
    {
        // When dave joins, the relay also asks carol (a forged COMMIT_REQUEST: server frames carry no signature),
        // keeps her commit from the server, and shows it to carol and dave while alice and bob get alice's commit.
        var injections = new List<Task>();
        var forked = new HashSet<string>(StringComparer.Ordinal) { "carol", "dave" };
        _mitm.Attack = (id, direction, e) =>
        {
            switch (direction, e.Type)
            {
                case (Direction.ToClient, MessageType.CommitRequest) when id == "alice":
                    injections.Add(_mitm.InjectAsync("carol", e.Clone()));
                    return [e];
                case (Direction.ToServer, MessageType.Commit) when id == "carol":
                    var echo = e.Clone();
                    injections.Add(_mitm.InjectAsync("carol", echo));
                    injections.Add(_mitm.InjectAsync("dave", echo));
                    return [];
                case (Direction.ToClient, MessageType.Commit) when forked.Contains(id):
                    return [];
                default:
                    return [e];
            }
        };
        var dave = StartBehindMitm("dave");
        _clients.Add(dave);
        await dave.WaitForAsync<Connected>();
        dave.Client.Join(Room);
        var daveKeys = await dave.WaitForAsync<KeyEstablished>();
        var aliceKeys = await this["alice"].WaitForAsync<KeyEstablished>(k => k.Epoch == daveKeys.Epoch);
        var bobKeys = await this["bob"].WaitForAsync<KeyEstablished>(k => k.Epoch == daveKeys.Epoch);
        var carolKeys = await this["carol"].WaitForAsync<KeyEstablished>(k => k.Epoch == daveKeys.Epoch);
        await Task.WhenAll(injections);

        // What users compare: the same epoch number, two different codes.
        output.WriteLine($"epoch {daveKeys.Epoch}: alice {aliceKeys.EpochCode}, bob {bobKeys.EpochCode}, carol {carolKeys.EpochCode}, dave {daveKeys.EpochCode}");
        Assert.Equal(aliceKeys.EpochCode, bobKeys.EpochCode);
        Assert.Equal(carolKeys.EpochCode, daveKeys.EpochCode);
        Assert.NotEqual(aliceKeys.EpochCode, carolKeys.EpochCode);

        // The branches cannot read each other: each side reports the other's messages as failed, never shows them.
        this["carol"].Client.Send(Room, "from carol's branch");
        await dave.WaitForAsync<MessageReceived>(m => m.Text == "from carol's branch");
        await this["alice"].WaitForAsync<DecryptFailed>(e => e.SenderId == "carol");
        Assert.DoesNotContain(this["alice"].Received, m => m.Text == "from carol's branch");

        // The attack stops. The next commit (erin joins) carries the server branch's transcript hash: carol and dave
        // see TranscriptMismatch, rejoin, and the room is one again.
        _mitm.Attack = null;
        await JoinAsync("erin");
        await SendAndAwaitAsync("alice", "one room again", "bob", "carol", "dave", "erin");
        await SendAndAwaitAsync("dave", "dave is back", "alice", "bob", "carol", "erin");
    }

    [Fact]
    public async Task No_plaintext_of_real_clients_crosses_the_wire_in_either_direction()
    {
        var markers = new List<string>();
        foreach (var sender in new[] { "alice", "bob", "carol" })
        {
            var marker = $"MARKER {sender} {Guid.NewGuid():N} ✓";
            markers.Add(marker);
            await SendAndAwaitAsync(sender, marker, new[] { "alice", "bob", "carol" }.Where(r => r != sender).ToArray());
        }

        var bytes = _mitm.Capture.ToArray();
        output.WriteLine($"captured {bytes.Length} bytes between real clients and the server");
        Assert.True(bytes.Length > 5_000);
        Assert.NotEmpty(MarkerForms.FoundIn(bytes, Room + "\u0000").Concat(MarkerForms.FoundIn(bytes, "alice")));
        foreach (var marker in markers)
        {
            Assert.Empty(MarkerForms.FoundIn(bytes, marker));
            Assert.Empty(MarkerForms.FoundIn(bytes, System.Text.RegularExpressions.Regex.Match(marker, "[0-9a-f]{32}").Value));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await _system.Terminate();
        await _mitm.DisposeAsync();
        await _server.DisposeAsync();
    }
}
