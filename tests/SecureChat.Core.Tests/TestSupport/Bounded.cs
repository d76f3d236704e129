namespace SecureChat.Core.Tests.TestSupport;

/// <summary>
/// Runs a property on a worker thread and fails if it does not finish in time, so a parser
/// that loops forever fails the test instead of hanging the run.
/// </summary>
internal static class Bounded
{
    public static readonly TimeSpan PropertyTimeout = TimeSpan.FromMinutes(2);

    public static async Task Run(Action property)
    {
        var work = Task.Run(property);
        try
        {
            await work.WaitAsync(PropertyTimeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"property did not finish within {PropertyTimeout}; a parser may be looping");
        }
    }
}

/// <summary>Helpers for fuzz properties: only the typed error may escape a parser.</summary>
internal static class Fuzz
{
    /// <summary>Far above what parsing a few KiB of garbage should cost, far below a trusted huge length.</summary>
    public const long AllocationBudget = 256 * 1024;

    /// <summary>Runs the parse; swallows only <see cref="Wire.WireFormatException"/>; returns the bytes it allocated.</summary>
    public static long OnlyWireFormatErrors(Action parse)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            parse();
        }
        catch (SecureChat.Core.Wire.WireFormatException)
        {
            // the one allowed outcome for bad bytes
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Takes the result of an operation over an in-memory stream, which must already be complete:
    /// a pending one would mean the reader waits for bytes that will never come.
    /// </summary>
    public static T Completed<T>(ValueTask<T> operation)
    {
        if (!operation.IsCompleted)
        {
            throw new InvalidOperationException("read over an in-memory stream did not complete synchronously");
        }

        return operation.Result;
    }
}
