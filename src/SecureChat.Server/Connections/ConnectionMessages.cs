using Akka.Actor;
using Google.Protobuf;
using SecureChat.Core.Wire;

namespace SecureChat.Server.Connections;

// Messages a connection gets from its socket's read and write loops, and from the listener. All local to one node,
// never serialized (INoSerializationVerificationNeeded): what crosses nodes is in Messaging/.

/// <summary>A complete frame body from the read loop (not parsed yet).</summary>
public sealed record FrameReceived(ByteString Body) : INoSerializationVerificationNeeded;

/// <summary>The read loop refused input: bad framing (fatal, the stream is out of step) or over the rate budget.</summary>
public sealed record FrameRefused(ErrorCode Code, string Reason, bool Fatal) : INoSerializationVerificationNeeded;

/// <summary>The socket ended (peer closed, reset, or write failed).</summary>
public sealed record IoClosed(string Reason) : INoSerializationVerificationNeeded;

/// <summary>The server is stopping: tell the client and close.</summary>
public sealed record ServerShutdown : INoSerializationVerificationNeeded
{
    public static readonly ServerShutdown Instance = new();
}

/// <summary>To the <see cref="ConnectionsActor"/>: run an authenticated connection; answered with <see cref="ConnectionOpened"/>.</summary>
public sealed record OpenConnection(IConnectionIo Io, string ClientId, string Remote) : INoSerializationVerificationNeeded;

public sealed record ConnectionOpened(IActorRef Connection) : INoSerializationVerificationNeeded;
