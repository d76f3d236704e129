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
