using CsCheck;
using SecureChat.Core.Replay;
using SecureChat.Core.Tests.TestSupport;

namespace SecureChat.Core.Tests.Replay;

/// <summary>ReplayWindow against the obvious model: every number ever accepted, plus the highest.</summary>
public class ReplayWindowPropertyTests
{
    private sealed class ReferenceWindow(int size)
    {
        private readonly HashSet<ulong> _seen = [];
        private bool _any;
        private ulong _highest;

        public ReplayVerdict Check(ulong sequence)
        {
            if (!_any || sequence > _highest)
            {
                _any = true;
                _highest = sequence;
                _seen.Add(sequence);
                return ReplayVerdict.Accepted;
            }

            if (_highest - sequence >= (ulong)size)
            {
                return ReplayVerdict.TooOld;
            }

            return _seen.Add(sequence) ? ReplayVerdict.Accepted : ReplayVerdict.Duplicate;
        }
    }

    [Fact]
    public Task Replay_window_agrees_with_a_hash_set_model() => Bounded.Run(() =>
        Gen.Select(
            Gen.OneOfConst(64, 128, 1024),
            Gen.OneOfConst(0UL, 1UL << 40, ulong.MaxValue - 5000),
            Gen.Frequency((4, Gen.ULong[0, 300]), (1, Gen.ULong[0, 5000])).Array[1, 400])
        .Sample((size, baseline, offsets) =>
        {
            var window = new ReplayWindow(size);
            var model = new ReferenceWindow(size);
            for (var i = 0; i < offsets.Length; i++)
            {
                var sequence = baseline + offsets[i];
                var peeked = window.Peek(sequence);
                var actual = window.Check(sequence);
                var expected = model.Check(sequence);
                Assert.True(expected == actual, $"step {i}: sequence {sequence} gave {actual}, model says {expected}");
                Assert.Equal(actual, peeked);
            }
        }, iter: 3_000));
}
