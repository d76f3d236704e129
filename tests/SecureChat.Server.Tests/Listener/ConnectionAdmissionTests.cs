using System.Net;
using SecureChat.Server.Listener;

namespace SecureChat.Server.Tests.Listener;

public sealed class ConnectionAdmissionTests
{
    private static readonly IPAddress Alice = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress Bob = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void Connections_above_the_cap_are_refused_and_a_closed_one_frees_its_slot()
    {
        var admission = new ConnectionAdmission(AdmissionLimits.OnlyConnectionCap(2));
        var first = Admit(admission, Alice);
        Admit(admission, Bob);

        Assert.Equal(AdmissionRefusal.ConnectionLimit, Refuse(admission, Alice));

        first.Closed();
        Admit(admission, Bob);
        Assert.Equal(2, admission.OpenConnections);
        Assert.Equal(3, admission.Admitted);
        Assert.Equal(1, admission.Refused(AdmissionRefusal.ConnectionLimit));
    }

    [Fact]
    public void One_address_may_hold_only_its_share_of_connections_and_the_others_still_get_in()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(100, MaxConnectionsPerAddress: 2, MaxHandshakesPerAddress: 10, MaxHandshakes: 10));
        var first = Admit(admission, Alice);
        first.HandshakeEnded();
        Admit(admission, Alice).HandshakeEnded(); // authenticated connections count too

        Assert.Equal(AdmissionRefusal.AddressConnectionLimit, Refuse(admission, Alice));
        Admit(admission, Bob);

        first.Closed();
        Admit(admission, Alice);
        Assert.Equal((2, 1), admission.CountsOf(Alice));
    }

    [Fact]
    public void One_address_may_have_only_so_many_handshakes_in_progress_and_a_finished_one_makes_room()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(100, MaxConnectionsPerAddress: 100, MaxHandshakesPerAddress: 2, MaxHandshakes: 100));
        var first = Admit(admission, Alice);
        Admit(admission, Alice);

        Assert.Equal(AdmissionRefusal.AddressHandshakeLimit, Refuse(admission, Alice));
        Admit(admission, Bob);

        first.HandshakeEnded();
        Admit(admission, Alice);
        Assert.Equal((3, 2), admission.CountsOf(Alice));
        Assert.Equal(4, admission.OpenConnections);
        Assert.Equal(3, admission.HandshakesInProgress);
    }

    [Fact]
    public void Handshakes_from_many_addresses_together_stay_within_the_budget_and_leave_the_other_slots_to_established_connections()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, MaxConnectionsPerAddress: 10, MaxHandshakesPerAddress: 10, MaxHandshakes: 3));
        var established = Admit(admission, Alice);
        established.HandshakeEnded();
        for (var i = 0; i < 3; i++)
        {
            Admit(admission, IPAddress.Parse($"198.51.100.{i + 1}"));
        }

        Assert.Equal(AdmissionRefusal.HandshakeBudget, Refuse(admission, IPAddress.Parse("198.51.100.99")));
        Assert.Equal(AdmissionRefusal.HandshakeBudget, Refuse(admission, Alice));
        Assert.Equal(4, admission.OpenConnections);
        Assert.Equal(3, admission.HandshakesInProgress);
    }

    [Fact]
    public void A_refusal_names_the_first_limit_reached_in_the_order_cap_address_connections_address_handshakes_budget()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(2, MaxConnectionsPerAddress: 1, MaxHandshakesPerAddress: 1, MaxHandshakes: 1));
        Admit(admission, Alice);
        Assert.Equal(AdmissionRefusal.AddressConnectionLimit, Refuse(admission, Alice)); // its handshake limit and the budget are reached too
        Assert.Equal(AdmissionRefusal.HandshakeBudget, Refuse(admission, Bob));

        var handshakes = new ConnectionAdmission(new AdmissionLimits(10, MaxConnectionsPerAddress: 10, MaxHandshakesPerAddress: 1, MaxHandshakes: 1));
        Admit(handshakes, Alice);
        Assert.Equal(AdmissionRefusal.AddressHandshakeLimit, Refuse(handshakes, Alice));

        var full = new ConnectionAdmission(new AdmissionLimits(1, MaxConnectionsPerAddress: 1, MaxHandshakesPerAddress: 1, MaxHandshakes: 1));
        Admit(full, Alice);
        Assert.Equal(AdmissionRefusal.ConnectionLimit, Refuse(full, Alice));
    }

    [Fact]
    public void A_refusal_is_counted_and_changes_nothing_else()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, MaxConnectionsPerAddress: 10, MaxHandshakesPerAddress: 1, MaxHandshakes: 10));
        Admit(admission, Alice);

        for (var i = 0; i < 5; i++)
        {
            Refuse(admission, Alice);
        }

        Assert.Equal(5, admission.Refused(AdmissionRefusal.AddressHandshakeLimit));
        Assert.Equal(0, admission.Refused(AdmissionRefusal.ConnectionLimit));
        Assert.Equal((1, 1), admission.CountsOf(Alice));
        Assert.Equal(1, admission.Admitted);
    }

    [Fact]
    public void Each_end_of_a_ticket_counts_once_in_any_order()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, 10, 10, 10));
        var handshakeThenClose = Admit(admission, Alice);
        var closeThenHandshake = Admit(admission, Alice);
        Admit(admission, Alice);

        handshakeThenClose.HandshakeEnded();
        handshakeThenClose.HandshakeEnded();
        Assert.Equal((3, 2), admission.CountsOf(Alice));
        handshakeThenClose.Closed();
        handshakeThenClose.Closed();
        closeThenHandshake.Closed();
        closeThenHandshake.HandshakeEnded();

        Assert.Equal((1, 1), admission.CountsOf(Alice));
        Assert.Equal(1, admission.OpenConnections);
        Assert.Equal(1, admission.HandshakesInProgress);
    }

    [Fact]
    public void An_address_that_holds_nothing_is_forgotten()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, 10, 10, 10));
        var ticket = Admit(admission, Alice);
        ticket.HandshakeEnded();
        ticket.Closed();

        Assert.Equal((0, 0), admission.CountsOf(Alice));
        Assert.Equal(0, admission.OpenConnections);
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    public void Addresses_count_together_by_IPv4_address_or_IPv6_64_prefix(string one, string other, bool together)
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, MaxConnectionsPerAddress: 1, MaxHandshakesPerAddress: 10, MaxHandshakes: 10));
        Admit(admission, IPAddress.Parse(one));

        var second = admission.TryAdmit(IPAddress.Parse(other), out var refusal);

        Assert.Equal(together, second is null);
        Assert.Equal(together ? AdmissionRefusal.AddressConnectionLimit : default, refusal);
    }

    /// <summary>
    /// Every limit combination from 1 to 3, under random admits, handshake ends and closes from three addresses: the
    /// counts never pass a limit, and a connection is refused only when a limit it would pass is reached (naming it).
    /// </summary>
    [Fact]
    public void Under_any_sequence_no_limit_is_passed_and_nothing_is_refused_without_one_reached()
    {
        IPAddress[] addresses = [Alice, Bob, IPAddress.Parse("2001:db8::1")];
        var limits = from max in Enumerable.Range(1, 3)
                     from perAddress in Enumerable.Range(1, 3)
                     from handshakesPerAddress in Enumerable.Range(1, 3)
                     from handshakes in Enumerable.Range(1, 3)
                     select new AdmissionLimits(max, perAddress, handshakesPerAddress, handshakes);
        foreach (var limit in limits)
        {
            var random = new Random((limit.MaxConnections * 1000) + (limit.MaxConnectionsPerAddress * 100) + (limit.MaxHandshakesPerAddress * 10) + limit.MaxHandshakes);
            var admission = new ConnectionAdmission(limit);
            var held = new List<(IPAddress Address, ConnectionAdmission.AdmissionTicket Ticket, bool Handshaking)>();
            for (var step = 0; step < 200; step++)
            {
                var action = random.Next(3);
                if (action == 0 || held.Count == 0)
                {
                    var address = addresses[random.Next(addresses.Length)];
                    var open = held.Count;
                    var openHere = held.Count(h => h.Address.Equals(address));
                    var handshaking = held.Count(h => h.Handshaking);
                    var handshakingHere = held.Count(h => h.Handshaking && h.Address.Equals(address));
                    AdmissionRefusal? expected = open >= limit.MaxConnections ? AdmissionRefusal.ConnectionLimit
                        : openHere >= limit.MaxConnectionsPerAddress ? AdmissionRefusal.AddressConnectionLimit
                        : handshakingHere >= limit.MaxHandshakesPerAddress ? AdmissionRefusal.AddressHandshakeLimit
                        : handshaking >= limit.MaxHandshakes ? AdmissionRefusal.HandshakeBudget
                        : null;
                    var ticket = admission.TryAdmit(address, out var refusal);
                    Assert.Equal(expected is null, ticket is not null);
                    if (ticket is not null)
                    {
                        held.Add((address, ticket, true));
                    }
                    else
                    {
                        Assert.Equal(expected, refusal);
                    }
                }
                else
                {
                    var index = random.Next(held.Count);
                    var (address, ticket, handshaking) = held[index];
                    if (action == 1 && handshaking)
                    {
                        ticket.HandshakeEnded();
                        held[index] = (address, ticket, false);
                    }
                    else
                    {
                        ticket.Closed();
                        held.RemoveAt(index);
                    }
                }

                Assert.Equal(held.Count, admission.OpenConnections);
                Assert.Equal(held.Count(h => h.Handshaking), admission.HandshakesInProgress);
                Assert.InRange(admission.OpenConnections, 0, limit.MaxConnections);
                Assert.InRange(admission.HandshakesInProgress, 0, limit.MaxHandshakes);
                foreach (var address in addresses)
                {
                    var (open, handshakingHere) = admission.CountsOf(address);
                    Assert.InRange(open, 0, limit.MaxConnectionsPerAddress);
                    Assert.InRange(handshakingHere, 0, limit.MaxHandshakesPerAddress);
                }
            }
        }
    }

    [Fact]
    public async Task The_wait_for_a_handshake_slot_ends_at_once_with_room_when_a_handshake_ends_and_says_held_when_none_does()
    {
        var admission = new ConnectionAdmission(new AdmissionLimits(10, MaxConnectionsPerAddress: 10, MaxHandshakesPerAddress: 10, MaxHandshakes: 2));
        Assert.True(admission.WaitForHandshakeSlotAsync(TimeSpan.FromMinutes(1), TimeProvider.System, CancellationToken.None).IsCompletedSuccessfully);

        var first = Admit(admission, Alice);
        var second = Admit(admission, Bob);
        var waiting = admission.WaitForHandshakeSlotAsync(TimeSpan.FromMinutes(1), TimeProvider.System, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        second.HandshakeEnded();
        Assert.True(await waiting);

        Admit(admission, Bob);
        var closing = admission.WaitForHandshakeSlotAsync(TimeSpan.FromMinutes(1), TimeProvider.System, CancellationToken.None);
        first.Closed(); // a connection that goes during its handshake frees its slot too
        Assert.True(await closing);

        Admit(admission, Alice);
        Assert.False(await admission.WaitForHandshakeSlotAsync(TimeSpan.FromMilliseconds(20), TimeProvider.System, CancellationToken.None));
    }

    private static ConnectionAdmission.AdmissionTicket Admit(ConnectionAdmission admission, IPAddress address)
    {
        var ticket = admission.TryAdmit(address, out var refusal);
        Assert.True(ticket is not null, $"refused: {refusal}");
        return ticket;
    }

    private static AdmissionRefusal Refuse(ConnectionAdmission admission, IPAddress address)
    {
        Assert.Null(admission.TryAdmit(address, out var refusal));
        return refusal;
    }
}
