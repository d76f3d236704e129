namespace SecureChat.Server.Messaging;

/// <summary>
/// The marker of every message that may pass between actors on different nodes: what connections and rooms say to
/// each other. The cluster serializer binds to it (<c>Serialization/ClusterMessageSerializer</c>, Protobuf), so
/// a type that implements it must hold only immutable data: strings, numbers, enums, <c>ByteString</c>s, actor
/// references, and needs a message in <c>cluster.proto</c> (a test checks every one). Messages that never leave their node
/// (socket events, timers) do not, and are marked <c>INoSerializationVerificationNeeded</c>.
/// </summary>
public interface IServerMessage;
