namespace SecureChat.Server.Messaging;

/// <summary>
/// The marker of every message that may pass between actors on different nodes: what connections and rooms say to
/// each other. A serializer binds to it (a Protobuf <c>SerializerWithStringManifest</c> once rooms are sharded), so
/// a type that implements it must hold only immutable data: strings, numbers, enums, <c>ByteString</c>s, actor
/// references. Messages that never leave their node (socket events, timers, the registry's bookkeeping) do not.
/// </summary>
public interface IServerMessage;
