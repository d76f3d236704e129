using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SecureChat.Server.Storage;

/// <summary>
/// Registered before the actor system: opening the storage here (creating and locking the data folder) makes a
/// folder that cannot be used stop the start with its reason, and the log say where the rooms are kept.
/// </summary>
public sealed partial class RoomStorageAnnouncer(RoomStorage storage, ILogger<RoomStorageAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (storage.Created)
        {
            LogCreated(logger, storage.Description);
        }
        else
        {
            LogStorage(logger, storage.Description);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Rooms are stored in {Storage}")]
    private static partial void LogStorage(ILogger logger, string storage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Created the room database: {Storage}. Delete that folder (server stopped) to start every room afresh")]
    private static partial void LogCreated(ILogger logger, string storage);
}
