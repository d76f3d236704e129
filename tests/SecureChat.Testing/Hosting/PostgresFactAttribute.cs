namespace SecureChat.Testing.Hosting;

/// <summary>
/// A test that needs a PostgreSQL server: <see cref="PostgresTestDatabase.Variable"/> names one (.ci/run starts a
/// throwaway server and sets it). Without it the test is reported as skipped, with the reason; in CI it always runs.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PostgresTestDatabase.Variable)))
        {
            Skip = $"{PostgresTestDatabase.Variable} is not set: no PostgreSQL server to test against (.ci/run starts one)";
        }
    }
}
