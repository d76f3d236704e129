using SecureChat.Server.Connections;

namespace SecureChat.Server.Tests.Connections;

/// <summary>
/// The sign-in rule, against every sequence of up to six steps over two ids and three connections (each connection has one
/// id, as its certificate does): checked step by step against a model that reads the answer off the whole history.
/// </summary>
public sealed class SignInsTests
{
    private static readonly (string Connection, string Id)[] Connections = [("c1", "alice"), ("c2", "alice"), ("c3", "bob")];

    [Fact]
    public void Every_sequence_of_sign_ins_and_ends_agrees_with_the_model()
    {
        var steps = Connections.Select(c => (Step)new SignInStep(c.Connection, c.Id)).Concat(Connections.Select(c => new EndStep(c.Connection))).ToArray();
        var checkedSequences = 0;
        foreach (var sequence in Sequences(steps, 6))
        {
            Check(sequence);
            checkedSequences++;
        }

        Assert.Equal(Enumerable.Range(0, 7).Sum(n => (int)Math.Pow(steps.Length, n)), checkedSequences);
    }

    [Fact]
    public void The_end_of_a_connection_taken_over_leaves_the_newer_one_signed_in()
    {
        var signIns = new SignIns<string>();
        Assert.Null(signIns.SignIn("alice", "old"));
        Assert.Equal("old", signIns.SignIn("alice", "new"));

        Assert.False(signIns.SignOut("old"));
        Assert.True(signIns.TryGetCurrent("alice", out var current));
        Assert.Equal("new", current);
        Assert.True(signIns.SignOut("new"));
        Assert.Equal(0, signIns.Count);
    }

    [Fact]
    public void A_resuming_connection_holds_a_free_id_again_and_its_own()
    {
        var signIns = new SignIns<string>();

        Assert.True(signIns.Resume("alice", "old")); // the table that knew it is gone; nobody signed in since
        Assert.True(signIns.TryGetCurrent("alice", out var current));
        Assert.Equal("old", current);
        Assert.True(signIns.Resume("alice", "old")); // said twice (a retry): nothing changes
        Assert.Equal(1, signIns.Count);

        // A fresh sign-in after it takes over as ever; the ended one is forgotten.
        Assert.Equal("old", signIns.SignIn("alice", "new"));
        Assert.True(signIns.SignOut("new"));
        Assert.Equal(0, signIns.Count);
    }

    [Fact]
    public void A_resuming_connection_takes_nothing_over_from_one_that_signed_in_since()
    {
        var signIns = new SignIns<string>();
        Assert.Null(signIns.SignIn("alice", "new")); // reached the new table first
        Assert.Null(signIns.SignIn("bob", "bob's"));

        Assert.False(signIns.Resume("alice", "old")); // it must be told SIGNED_IN_ELSEWHERE

        Assert.True(signIns.TryGetCurrent("alice", out var current));
        Assert.Equal("new", current);
        Assert.False(signIns.SignOut("old")); // never recorded: its end changes nothing
        Assert.True(signIns.TryGetCurrent("alice", out current));
        Assert.Equal("new", current);
        Assert.Equal(2, signIns.Count);
    }

    private static void Check(IReadOnlyList<Step> sequence)
    {
        var signIns = new SignIns<string>();
        var history = new List<Step>();
        var told = new HashSet<string>();
        foreach (var step in sequence)
        {
            switch (step)
            {
                case SignInStep signIn:
                    var expected = Model.Current(history, signIn.Id) is { } before && before != signIn.Connection && !Model.Ended(history, before) ? before : null;
                    var displaced = signIns.SignIn(signIn.Id, signIn.Connection);
                    Assert.True(expected == displaced, $"{Describe(sequence)}: {step} displaced {displaced ?? "none"}, the model says {expected ?? "none"}");
                    if (displaced is not null)
                    {
                        Assert.True(told.Add(displaced + "@" + history.Count), "told twice");
                    }

                    break;
                case EndStep end:
                    var wasCurrent = Model.Connected(history).Contains(end.Connection)
                                     && Model.Current(history, Connections.Single(c => c.Connection == end.Connection).Id) == end.Connection;
                    Assert.True(wasCurrent == signIns.SignOut(end.Connection), $"{Describe(sequence)}: {step}");
                    break;
            }

            history.Add(step);
            foreach (var id in Connections.Select(c => c.Id).Distinct())
            {
                var modelCurrent = Model.Current(history, id) is { } c && !Model.Ended(history, c) ? c : null;
                var actual = signIns.TryGetCurrent(id, out var current) ? current : null;
                Assert.True(modelCurrent == actual, $"{Describe(sequence)}: after {step} the current of {id} is {actual ?? "none"}, the model says {modelCurrent ?? "none"}");
            }
        }
    }

    private static IEnumerable<IReadOnlyList<Step>> Sequences(Step[] steps, int maxLength)
    {
        var queue = new Queue<List<Step>>([[]]);
        while (queue.Count > 0)
        {
            var sequence = queue.Dequeue();
            yield return sequence;
            if (sequence.Count < maxLength)
            {
                foreach (var step in steps)
                {
                    queue.Enqueue([.. sequence, step]);
                }
            }
        }
    }

    private static string Describe(IReadOnlyList<Step> sequence) => string.Join(", ", sequence);

    /// <summary>The answer read off the history: an id's connection is the last one whose sign-in came after its last end.</summary>
    private static class Model
    {
        /// <summary>The id's last signed-in connection that had not ended when it signed in last (ended since or not).</summary>
        public static string? Current(IReadOnlyList<Step> history, string id)
        {
            string? current = null;
            for (var i = 0; i < history.Count; i++)
            {
                if (history[i] is SignInStep s && s.Id == id)
                {
                    current = s.Connection;
                }
                else if (history[i] is EndStep e && e.Connection == current)
                {
                    current = null;
                }
            }

            return current;
        }

        public static bool Ended(IReadOnlyList<Step> history, string connection) =>
            history.OfType<EndStep>().Any(e => e.Connection == connection) &&
            history.Select((s, i) => (s, i)).Last(x => x.s is EndStep e2 && e2.Connection == connection).i >
            history.Select((s, i) => (s, i)).LastOrDefault(x => x.s is SignInStep s2 && s2.Connection == connection, (null!, -1)).i;

        public static HashSet<string> Connected(IReadOnlyList<Step> history) =>
            [.. Connections.Select(c => c.Connection).Where(c => history.OfType<SignInStep>().Any(s => s.Connection == c) && !Ended(history, c))];
    }

    private abstract record Step;

    private sealed record SignInStep(string Connection, string Id) : Step
    {
        public override string ToString() => $"{Connection} HELLO as {Id}";
    }

    private sealed record EndStep(string Connection) : Step
    {
        public override string ToString() => $"{Connection} ends";
    }
}
