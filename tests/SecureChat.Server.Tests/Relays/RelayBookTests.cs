using SecureChat.Server.Relays;

namespace SecureChat.Server.Tests.Relays;

/// <summary>What a node's relay keeps about its members and the room incarnation, on its own (connections are strings here).</summary>
public sealed class RelayBookTests
{
    private readonly RelayBook<string, string> _book = new();

    [Fact]
    public void Joins_made_before_the_subscription_are_sent_once_it_is_acknowledged_and_sequences_start_after_the_acknowledged_one()
    {
        _book.Joined("c1", "alice", "join-alice");
        _book.Joined("c2", "bob", "join-bob");

        Assert.False(_book.Subscribed);
        Assert.Equal(["join-alice", "join-bob"], _book.Subscribe(lastSequence: 6).Order());
        Assert.True(_book.Subscribed);
        Assert.Equal(7, _book.ExpectedSequence);
        Assert.True(_book.Check(7, out var dropped));
        Assert.Empty(dropped);
        Assert.Equal(8, _book.ExpectedSequence);
    }

    [Fact]
    public void When_the_incarnation_ends_the_members_it_answered_are_out_and_the_joins_it_never_answered_wait_for_the_next()
    {
        _book.Joined("c1", "alice", "join-alice");
        _book.Joined("c2", "bob", "join-bob");
        _book.Joined("c3", "carol", "join-carol");
        _book.Subscribe(0);
        _book.Heard("c1");
        _book.Refused("c2", notInRoom: false); // a refusal that keeps bob in the room is something heard too

        var gone = _book.RoomEnded();

        Assert.Equal([("c1", "alice"), ("c2", "bob")], gone.OrderBy(g => g.Connection));
        Assert.False(_book.Subscribed);
        Assert.True(_book.Carries("c3"));
        Assert.False(_book.Carries("c1"));
        Assert.Equal(["join-carol"], _book.Subscribe(0));
    }

    [Fact]
    public void A_message_out_of_turn_puts_every_member_out_and_numbering_goes_on_from_it()
    {
        _book.Joined("c1", "alice", "join-alice");
        _book.Joined("c2", "bob", "join-bob");
        _book.Subscribe(0);
        _book.Heard("c1");
        Assert.True(_book.Check(1, out _));

        Assert.False(_book.Check(3, out var dropped));

        Assert.Equal([("c1", "alice"), ("c2", "bob")], dropped.OrderBy(d => d.Connection));
        Assert.True(_book.IsEmpty);
        Assert.True(_book.Check(4, out _));
    }

    [Fact]
    public void A_refusal_saying_not_in_the_room_and_a_leave_end_what_the_relay_carries_for_a_connection()
    {
        _book.Joined("c1", "alice", "join-alice");
        _book.Joined("c2", "bob", "join-bob");

        Assert.True(_book.Refused("c1", notInRoom: true));
        Assert.False(_book.Refused("c2", notInRoom: false));
        Assert.True(_book.Left("c2"));
        Assert.False(_book.Left("c2"));

        Assert.True(_book.IsEmpty);
        Assert.Empty(_book.RoomEnded());
    }

    [Fact]
    public void A_second_join_from_a_connection_replaces_the_first_and_is_the_one_sent_again()
    {
        _book.Joined("c1", "alice", "first");
        _book.Joined("c1", "alice", "second");

        Assert.Equal(1, _book.Count);
        Assert.Equal(["second"], _book.Subscribe(0));
    }
}
