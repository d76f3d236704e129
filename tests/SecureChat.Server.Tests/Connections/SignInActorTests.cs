using Akka.Actor;
using Akka.TestKit.Xunit2;
using SecureChat.Protocol.Infrastructure;
using SecureChat.Protocol.Relay;
using SecureChat.Server.Connections;
using SecureChat.Testing.Rooms;

namespace SecureChat.Server.Tests.Connections;

/// <summary>
/// The sign-in tables as the server runs them: entities of their shard region (<see cref="SignInsHosting.AddSignIns"/>) in a
/// cluster of one, every message through the cluster serializer; probes stand for the connections.
/// </summary>
public sealed class SignInActorTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly RoomsHost _host;

    public SignInActorTests()
        : this(RoomsHost.Start(new RoomSettings(10, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), SystemClock.Instance)))
    {
    }

    private SignInActorTests(RoomsHost host)
        : base(host.System)
    {
        _host = host;
    }

    [Fact]
    public void The_later_sign_in_takes_over_the_earlier_connection_is_told_and_an_ended_one_is_never_told()
    {
        var (first, second, third) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var bob = CreateTestProbe();
        SignIn("alice", first);
        SignIn("bob", bob);

        _host.SignIns.Tell(new SignIn("alice", second.Ref, Resume: false));

        first.ExpectMsg<SignedInElsewhere>(Wait);
        second.ExpectMsg<SignInRecorded>(Wait);
        Sys.Stop(second.Ref); // the holder ends: the id is free, and nobody is told about it
        SignIn("alice", third);
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        bob.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_resuming_connection_holds_a_free_id_but_takes_nothing_over()
    {
        var (holder, resuming) = (CreateTestProbe(), CreateTestProbe());
        _host.SignIns.Tell(new SignIn("carol", holder.Ref, Resume: true));
        holder.ExpectMsg<SignInRecorded>(Wait);

        _host.SignIns.Tell(new SignIn("carol", resuming.Ref, Resume: true));

        resuming.ExpectMsg<SignedInElsewhere>(Wait);
        holder.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_table_whose_connections_all_ended_passivates_and_the_next_sign_in_starts_it_again()
    {
        var connection = CreateTestProbe();
        var table = SignIn("dave", connection);
        Watch(table);

        Sys.Stop(connection.Ref);

        ExpectTerminated(table, Wait);
        var next = CreateTestProbe();
        Assert.NotEqual(table, SignIn("dave", next));
    }

    /// <summary>Signs <paramref name="connection"/> in as <paramref name="clientId"/>; returns the table (the entity) that recorded it.</summary>
    private IActorRef SignIn(string clientId, Akka.TestKit.TestProbe connection)
    {
        _host.SignIns.Tell(new SignIn(clientId, connection.Ref, Resume: false));
        Assert.Equal(clientId, connection.ExpectMsg<SignInRecorded>(Wait).ClientId);
        return connection.LastSender;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _host.Dispose();
        }
    }
}
