using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using SecureChat.Server.Configuration;

namespace SecureChat.Server.Storage;

/// <summary>
/// Where the rooms keep their journal and snapshots: by default two SQLite files in the server's data folder
/// (<c>journal.db</c>, and <c>snapshots.db</c> apart so snapshots do not wait for the journal's write lock); with
/// <c>--postgres</c>, a PostgreSQL database that every node of a cluster shares. A data folder is held by one
/// server at a time (a lock file): two servers writing the same rooms would break each other's journals.
/// </summary>
public sealed class RoomStorage : IDisposable
{
    public const string JournalFileName = "journal.db";
    public const string SnapshotFileName = "snapshots.db";
    public const string LockFileName = "server.lock";

    private readonly FileStream? _lock;

    private RoomStorage(string providerName, string journalConnectionString, string snapshotConnectionString, string description, bool created, FileStream? folderLock)
    {
        ProviderName = providerName;
        JournalConnectionString = journalConnectionString;
        SnapshotConnectionString = snapshotConnectionString;
        Description = description;
        Created = created;
        _lock = folderLock;
    }

    /// <summary>The linq2db provider name Akka.Persistence.Sql uses.</summary>
    public string ProviderName { get; }

    public string JournalConnectionString { get; }

    public string SnapshotConnectionString { get; }

    /// <summary>Where the data is, for the log: a folder, or a PostgreSQL host and database (never a password).</summary>
    public string Description { get; }

    /// <summary>Whether this start created the data folder's databases.</summary>
    public bool Created { get; }

    /// <summary>The per-user data folder: <c>~/.local/share/securechat/server</c> on Linux, <c>%LOCALAPPDATA%\securechat\server</c> on Windows.</summary>
    public static string DefaultDataPath()
    {
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(root)
            ? throw new InvalidOperationException("this user has no local application data folder; name a data folder with --data DIR")
            : Path.Combine(root, "securechat", "server");
    }

    /// <summary>The storage the options name: PostgreSQL when a connection string is given, else SQLite in the data folder (created when missing).</summary>
    public static RoomStorage Open(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.IsNullOrWhiteSpace(options.PostgresConnectionString)
            ? OpenSqlite(Path.GetFullPath(options.DataPath ?? DefaultDataPath()))
            : OpenPostgres(options.PostgresConnectionString);
    }

    public void Dispose() => _lock?.Dispose();

    /// <summary>Null when the journal's database answers a query; else why not (the driver's words, never the connection string).</summary>
    public async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using DbConnection connection = ProviderName == LinqToDB.ProviderName.PostgreSQL15
                ? new NpgsqlConnection(JournalConnectionString)
                : new SqliteConnection(new SqliteConnectionStringBuilder(JournalConnectionString) { Pooling = false }.ToString()); // a pooled one would keep a deleted file open
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return "no answer in time";
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return ex.Message;
        }
    }

    private static RoomStorage OpenSqlite(string folder)
    {
        Directory.CreateDirectory(folder);
        var journal = Path.Combine(folder, JournalFileName);
        var created = !File.Exists(journal);
        FileStream folderLock;
        try
        {
            folderLock = new FileStream(Path.Combine(folder, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"the data folder {folder} is in use by another SecureChat server ({LockFileName} is locked); give this one its own --data DIR", ex);
        }

        var journalConnection = Sqlite(journal);
        var snapshotConnection = Sqlite(Path.Combine(folder, SnapshotFileName));
        UseWriteAheadLog(journalConnection);
        UseWriteAheadLog(snapshotConnection);
        return new RoomStorage(LinqToDB.ProviderName.SQLiteMS, journalConnection, snapshotConnection,
            $"SQLite in {folder} ({JournalFileName}, {SnapshotFileName})", created, folderLock);
    }

    /// <summary>
    /// Write-ahead logging (kept in the file once set): a write appends to the log and syncs it, three times the
    /// commits per second of the default rollback journal here, still durable at every commit (synchronous = FULL),
    /// and reads (recovery) do not wait for writes.
    /// </summary>
    private static void UseWriteAheadLog(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        command.ExecuteNonQuery();
    }

    private static RoomStorage OpenPostgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // Not the parser's message: it may quote the string, and the string may hold a password.
            throw new InvalidOperationException("the --postgres connection string does not parse");
        }

        return new RoomStorage(LinqToDB.ProviderName.PostgreSQL15, connectionString, connectionString,
            $"PostgreSQL database {parsed.Database ?? parsed.Username ?? "(default)"} on {parsed.Host}:{parsed.Port}", created: false, folderLock: null);
    }

    private static string Sqlite(string file) => new SqliteConnectionStringBuilder { DataSource = file }.ToString();
}
