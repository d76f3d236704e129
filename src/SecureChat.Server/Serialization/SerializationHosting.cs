using Akka.Hosting;

namespace SecureChat.Server.Serialization;

public static class SerializationHosting
{
    /// <summary>Every server message, room event and room snapshot goes through <see cref="ClusterMessageSerializer"/>.</summary>
    public static AkkaConfigurationBuilder AddClusterSerialization(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHocon(ClusterMessageSerializer.Hocon, HoconAddMode.Prepend);
    }
}
