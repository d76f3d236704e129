namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>
/// How the securechat target runs our server: <see cref="Nodes"/> processes on loopback forming one cluster (node 0
/// the seed), the rooms in PostgreSQL when <see cref="Postgres"/> is given (a cluster needs it; one node defaults
/// to SQLite in a temp folder), and the server build to run (<see cref="ServerAssembly"/>: another build's
/// SecureChat.Server.dll, e.g. the relay before sharded rooms, built into a temp folder; null = ours).
/// </summary>
internal sealed record SecureChatDeployment(int Nodes = 1, string? Postgres = null, string? ServerAssembly = null, string? Label = null)
{
    /// <summary>Appended to the target's name in the tables: "-baseline", "-3n-pg".</summary>
    public string NameSuffix =>
        (Label is null ? "" : "-" + Label) + (Nodes > 1 ? $"-{Nodes}n" : "") + (Postgres is null ? "" : "-pg");

    public string Description =>
        $"{(Nodes == 1 ? "own process" : $"{Nodes} processes in one cluster on loopback, members spread over them")}; rooms in {(Postgres is null ? "SQLite" : "PostgreSQL")}" +
        (ServerAssembly is null ? "" : $"; server {ServerAssembly}");

    public SecureChatDeployment Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Nodes, 1);
        if (Nodes > 1 && Postgres is null)
        {
            throw new ArgumentException("a cluster of more than one node needs --postgres: the nodes share their rooms' storage");
        }

        return this;
    }
}
