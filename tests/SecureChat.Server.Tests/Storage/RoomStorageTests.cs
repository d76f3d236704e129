using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using SecureChat.Server.Configuration;
using SecureChat.Server.Storage;
using SecureChat.Testing.Hosting;
using Xunit.Abstractions;

namespace SecureChat.Server.Tests.Storage;

public sealed class RoomStorageTests(ITestOutputHelper output)
{
    [Fact]
    public void The_default_data_folder_is_the_users_own_and_outside_the_repository()
    {
        var folder = RoomStorage.DefaultDataPath();

        Assert.True(Path.IsPathFullyQualified(folder));
        Assert.StartsWith(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), folder, StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine("securechat", "server"), folder, StringComparison.Ordinal);
        Assert.False(folder.StartsWith(RepositoryRoot(), StringComparison.Ordinal), $"{folder} is inside the repository");
    }

    [Fact]
    public async Task The_first_start_creates_the_data_folder_and_its_databases_and_says_where()
    {
        using var parent = new TempDirectory();
        var data = Path.Combine(parent.Path, "not", "there", "yet");

        await using (var server = await TestServer.StartAsync(output, "--data=" + data))
        {
            Assert.Equal(1, server.Logs.Count($"Created the room database: SQLite in {data}"));
            Assert.True(File.Exists(Path.Combine(data, RoomStorage.JournalFileName)));
            Assert.True(File.Exists(Path.Combine(data, RoomStorage.SnapshotFileName)));
        }

        await using var again = await TestServer.StartAsync(output, "--data=" + data);
        Assert.Equal(1, again.Logs.Count($"Rooms are stored in SQLite in {data}"));
        Assert.Equal(0, again.Logs.Count("Created the room database"));
    }

    [Fact]
    public async Task The_journal_writes_several_events_at_once_with_parameters_not_as_sql_text()
    {
        using var data = new TempDirectory();
        await using var server = await TestServer.StartAsync(output, "--data=" + data.Path);

        var config = server.Services.GetRequiredService<ActorSystem>().Settings.Config;
        Assert.True(config.GetBoolean("akka.persistence.journal.sql.prefer-parameters-on-multirow-insert"));
    }

    [Fact]
    public async Task Two_servers_cannot_share_a_data_folder()
    {
        using var data = new TempDirectory();
        await using var first = await TestServer.StartAsync(output, "--data=" + data.Path);

        var refused = await Assert.ThrowsAsync<StartupException>(() => TestServer.StartAsync(output, "--data=" + data.Path));

        Assert.Contains("in use by another SecureChat server", refused.Message, StringComparison.Ordinal);
        Assert.Contains(data.Path, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_postgresql_database_is_described_without_its_password()
    {
        using var storage = RoomStorage.Open(new ServerOptions { PostgresConnectionString = "Host=db.example;Port=5433;Username=chat;Password=hunter2;Database=rooms" });

        Assert.Equal("PostgreSQL database rooms on db.example:5433", storage.Description);
        Assert.DoesNotContain("hunter2", storage.Description, StringComparison.Ordinal);
        Assert.Equal(LinqToDB.ProviderName.PostgreSQL15, storage.ProviderName);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureChat.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("not run from inside the repository");
    }
}
