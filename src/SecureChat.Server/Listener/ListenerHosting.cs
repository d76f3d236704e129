using Microsoft.Extensions.DependencyInjection;

namespace SecureChat.Server.Listener;

public static class ListenerHosting
{
    /// <summary>
    /// The TLS listener and its status. Register it after <c>AddAkka</c>: hosted services stop in reverse order, so the
    /// listener stops accepting before Akka stops. It hands connections to the <c>ConnectionsActor</c> (<c>AddConnections</c>).
    /// </summary>
    public static IServiceCollection AddTlsListener(this IServiceCollection services)
    {
        services.AddSingleton<ListenerStatus>();
        services.AddHostedService<TlsListener>();
        return services;
    }
}
