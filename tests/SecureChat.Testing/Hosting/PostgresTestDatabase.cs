using Npgsql;

namespace SecureChat.Testing.Hosting;

/// <summary>A fresh, empty PostgreSQL database on the server <see cref="Variable"/> names, dropped on dispose.</summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    /// <summary>A connection string to a PostgreSQL server whose user may create databases.</summary>
    public const string Variable = "SECURECHAT_TEST_POSTGRES";

    private readonly string _server;
    private readonly string _name;

    private PostgresTestDatabase(string server, string name)
    {
        _server = server;
        _name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public string ConnectionString { get; }

    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(Variable) ?? throw new InvalidOperationException($"{Variable} is not set");
        var name = "securechat_test_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(server, $"CREATE DATABASE {name}");
        return new PostgresTestDatabase(server, name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string server, string sql)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
