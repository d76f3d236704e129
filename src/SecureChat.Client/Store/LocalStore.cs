using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Protocol.Identity;
using SecureChat.Protocol.Infrastructure;

namespace SecureChat.Client.Store;

/// <summary>
/// One identity's state across restarts, in one encrypted file (<see cref="StoreFile"/>, <see cref="FileName"/> in the
/// identity's folder): the identity key, the pins, and per room what <see cref="RoomRecord"/> holds. Thread-safe: the
/// client's session and room actors share one. Changes are made in memory (<see cref="PutRoom"/>, …) and made durable by
/// <see cref="CommitAsync"/>, which coalesces: at most one write is in flight, and one write carries every change made
/// before it started, so a burst of changes costs one or two fsyncs, not one each.
/// </summary>
public sealed class LocalStore : IDisposable
{
    public const string FileName = "store.sc";

    /// <summary>The decrypted lines kept per room (the oldest go first).</summary>
    public const int MaxHistoryLines = 500;

    private const uint ContentsFormat = 1;

    private readonly object _gate = new();
    private readonly StoreFile _file;
    private readonly StoreContents _contents;
    private readonly List<(long Version, TaskCompletionSource Done)> _waiters = [];
    private long _version;
    private long _durable;
    private bool _writing;
    private bool _disposed;

    private FileStream? _lock;

    private LocalStore(StoreFile file, StoreContents contents, bool written)
    {
        _file = file;
        _contents = contents;
        _version = written ? 0 : 1;
    }

    public string Path => _file.Path;

    /// <summary>Tests only: runs on the writing thread before each write touches the disk (to hold it, as a slow disk would).</summary>
    internal Action? BeforeWrite { get; set; }

    public string ClientId => _contents.ClientId;

    /// <summary>Writes completed since the store was opened (tests and measurements).</summary>
    public long Writes { get; private set; }

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, FileName);

    public static bool ExistsIn(string folder) => File.Exists(PathIn(folder));

    /// <summary>
    /// Opens the store in <paramref name="folder"/> (a stray temporary file of an interrupted write is removed: the store is the
    /// last complete write). Throws <see cref="StoreException"/> naming the store for a wrong passphrase, damage or another id.
    /// </summary>
    public static LocalStore Open(string folder, string clientId, ReadOnlySpan<byte> passphrase)
    {
        var path = PathIn(folder);
        var held = Lock(folder, path);
        try
        {
            var store = OpenLocked(folder, clientId, passphrase, path);
            store._lock = held;
            return store;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    private static LocalStore OpenLocked(string folder, string clientId, ReadOnlySpan<byte> passphrase, string path)
    {
        DeleteStrayTemp(path);
        var file = StoreFile.Open(path, passphrase, out var plaintext);
        try
        {
            StoreContents contents;
            try
            {
                contents = StoreContents.Parser.ParseFrom(plaintext);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new StoreException(path, "decrypts but does not parse (written by another version?)", ex);
            }

            if (contents.Format != ContentsFormat)
            {
                throw new StoreException(path, $"holds contents of format {contents.Format}; this build reads format {ContentsFormat}");
            }

            if (!string.Equals(contents.ClientId, clientId, StringComparison.Ordinal))
            {
                throw new StoreException(path, $"belongs to '{contents.ClientId}', not '{clientId}'");
            }

            if (contents.IdentitySeed.Length != IdentityKeyPair.SeedSize)
            {
                throw new StoreException(path, "holds a malformed identity key");
            }

            return new LocalStore(file, contents, written: true);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// A new store in <paramref name="folder"/> for <paramref name="identity"/> (its key is copied in), written at once.
    /// The folder is made owner-only.
    /// </summary>
    public static LocalStore Create(string folder, LocalIdentity identity, ReadOnlySpan<byte> passphrase, StoreKdf? kdf = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        CreateOwnerOnlyDirectory(folder);
        var path = PathIn(folder);
        var held = Lock(folder, path);
        DeleteStrayTemp(path);
        var seed = identity.IdentityKey.ExportSeed();
        var contents = new StoreContents { Format = ContentsFormat, ClientId = identity.ClientId, IdentitySeed = UnsafeByteOperations.UnsafeWrap(seed) };
        var store = new LocalStore(StoreFile.Create(path, passphrase, kdf ?? StoreKdf.Default), contents, written: false) { _lock = held };
        try
        {
            store.Commit();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Opens the store in <paramref name="folder"/>, or creates it with a new identity for <paramref name="clientId"/>.</summary>
    public static LocalStore OpenOrCreate(string folder, string clientId, ReadOnlySpan<byte> passphrase, StoreKdf? kdf = null)
    {
        if (ExistsIn(folder))
        {
            return Open(folder, clientId, passphrase);
        }

        using var identity = LocalIdentity.Generate(clientId, SystemRandomSource.Instance);
        return Create(folder, identity, passphrase, kdf);
    }

    /// <summary>The identity key, as a new <see cref="LocalIdentity"/> the caller owns (and disposes).</summary>
    public LocalIdentity LoadIdentity()
    {
        lock (_gate)
        {
            var seed = _contents.IdentitySeed.ToByteArray();
            try
            {
                return new LocalIdentity(_contents.ClientId, IdentityKeyPair.FromSeed(seed));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(seed);
            }
        }
    }

    /// <summary>A trust store over the stored pins: a pin added or accepted is written with the next commit (started at once).</summary>
    public TrustStore OpenTrustStore()
    {
        List<KeyValuePair<string, byte[]>> pins;
        lock (_gate)
        {
            pins = [.. _contents.Pins.Select(p => KeyValuePair.Create(p.ClientId, p.IdentityKey.ToByteArray()))];
        }

        TrustStore? trust = null;
        trust = new TrustStore(pins, () =>
        {
            // Called under the trust store's lock; the snapshot is taken on the pool, after the change that called.
            _ = Task.Run(() =>
            {
                SetPins(trust!.Pins);
                return CommitAsync();
            });
        });
        return trust;
    }

    /// <summary>Replaces the stored pins (migration, tests).</summary>
    public void SetPins(IEnumerable<KeyValuePair<string, byte[]>> pins)
    {
        ArgumentNullException.ThrowIfNull(pins);
        lock (_gate)
        {
            _contents.Pins.Clear();
            _contents.Pins.AddRange(pins.Select(p => new PinRecord { ClientId = p.Key, IdentityKey = ByteString.CopyFrom(p.Value) }));
            _version++;
        }
    }

    /// <summary>Copies of every stored room, in the order they were joined.</summary>
    public IReadOnlyList<RoomRecord> Rooms
    {
        get
        {
            lock (_gate)
            {
                return [.. _contents.Rooms.Select(r => r.Clone())];
            }
        }
    }

    /// <summary>A copy of the stored room <paramref name="roomId"/>, or null.</summary>
    public RoomRecord? Room(string roomId)
    {
        lock (_gate)
        {
            return _contents.Rooms.FirstOrDefault(r => r.RoomId == roomId)?.Clone();
        }
    }

    /// <summary>Adds or replaces a room's record (the store keeps <paramref name="record"/>; the caller must not change it after).</summary>
    public void PutRoom(RoomRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            var index = IndexOf(record.RoomId);
            if (index < 0)
            {
                _contents.Rooms.Add(record);
            }
            else
            {
                _contents.Rooms[index] = record;
            }

            _version++;
        }
    }

    /// <summary>Changes the stored room <paramref name="roomId"/> in place (created empty when missing).</summary>
    public void UpdateRoom(string roomId, Action<RoomRecord> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            var index = IndexOf(roomId);
            if (index < 0)
            {
                _contents.Rooms.Add(new RoomRecord { RoomId = roomId });
                index = _contents.Rooms.Count - 1;
            }

            change(_contents.Rooms[index]);
            _version++;
        }
    }

    /// <summary>Forgets a room (left).</summary>
    public void RemoveRoom(string roomId)
    {
        lock (_gate)
        {
            var index = IndexOf(roomId);
            if (index >= 0)
            {
                _contents.Rooms.RemoveAt(index);
                _version++;
            }
        }
    }

    /// <summary>
    /// Completes once every change made before the call is on the disk. At most one write runs at a time; a call during a
    /// write waits for the next one, which carries everything changed until it starts. Fails with <see cref="StoreException"/>
    /// when the write fails (the next call tries again).
    /// </summary>
    public Task CommitAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_durable >= _version)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((_version, done));
            if (!_writing)
            {
                _writing = true;
                _ = Task.Run(WriteWhileBehind);
            }

            return done.Task;
        }
    }

    /// <summary>Like <see cref="CommitAsync"/>, waiting for it.</summary>
    public void Commit() => CommitAsync().GetAwaiter().GetResult();

    /// <summary>Writes what is not on the disk yet (waiting up to 10 s), then erases the key.</summary>
    public void Dispose()
    {
        Task pending;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
        }

        try
        {
            pending = CommitAsync();
            pending.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Already reported to whoever waited for the write.
        }

        lock (_gate)
        {
            _disposed = true;
            _file.Dispose();
            _lock?.Dispose();
        }
    }

    /// <summary>
    /// One process per store: two would each write their own room states over the other's (and seal different messages under
    /// the same generations, which members drop as replays). The lock file is held open exclusively while the store is open.
    /// </summary>
    private static FileStream Lock(string folder, string path)
    {
        CreateOwnerOnlyDirectory(folder);
        try
        {
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new StoreException(path, "is in use by another running client of this identity (one at a time; a second terminal "
                + "needs its own --home)", ex);
        }
    }

    private void WriteWhileBehind()
    {
        while (true)
        {
            long version;
            byte[] plaintext;
            lock (_gate)
            {
                if (_durable >= _version || _disposed)
                {
                    _writing = false;
                    CompleteWaiters(null);
                    return;
                }

                version = _version;
                plaintext = _contents.ToByteArray();
            }

            Exception? failure = null;
            try
            {
                BeforeWrite?.Invoke();
                _file.Write(plaintext);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failure = new StoreException(Path, "could not be written: " + ex.Message, ex);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            lock (_gate)
            {
                if (failure is null)
                {
                    _durable = Math.Max(_durable, version);
                    Writes++;
                    CompleteWaiters(null);
                }
                else
                {
                    _writing = false;
                    CompleteWaiters(failure);
                    return;
                }
            }
        }
    }

    // Under the lock: wakes the waiters the durable version covers; with a failure, all of them.
    private void CompleteWaiters(Exception? failure)
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            var (version, done) = _waiters[i];
            if (failure is not null)
            {
                done.TrySetException(failure);
                _waiters.RemoveAt(i);
            }
            else if (version <= _durable)
            {
                done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    private int IndexOf(string roomId)
    {
        for (var i = 0; i < _contents.Rooms.Count; i++)
        {
            if (string.Equals(_contents.Rooms[i].RoomId, roomId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static void DeleteStrayTemp(string path)
    {
        var temp = path + ".tmp";
        if (File.Exists(temp))
        {
            File.Delete(temp);
        }
    }

    internal static void CreateOwnerOnlyDirectory(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
