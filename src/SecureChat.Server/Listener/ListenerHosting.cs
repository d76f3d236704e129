using Microsoft.Extensions.DependencyInjection;

namespace SecureChat.Server.Listener;

public static class ListenerHosting
{
    /// <summary>
    /// The TLS listener and its status. Register it after <c>AddAkka</c>: hosted services stop in reverse order, so the
    /// listener stops accepting before Akka stops. It hands connections to the <c>ConnectionsActor</c> (<c>AddConnections</c>).
    /// </summary>
    /// <summary>Loads the server's certificates (made when allowed) before anything else is made: register it first.</summary>
    public static IServiceCollection AddServerCertificates(this IServiceCollection services)
    {
        services.AddSingleton<ServerCertificates>();
        services.AddHostedService(provider =>
        {
            // Loaded as the hosted services are made, not when they start: the storage's is made (and the data folder with it) next.
            var certificates = provider.GetRequiredService<ServerCertificates>();
            _ = certificates.Tls;
            return certificates;
        });
        return services;
    }

    public static IServiceCollection AddTlsListener(this IServiceCollection services)
    {
        services.AddSingleton<ListenerStatus>();
        services.AddSingleton<TlsListener>();
        services.AddHostedService(provider => provider.GetRequiredService<TlsListener>());
        return services;
    }
}
