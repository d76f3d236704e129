using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace SecureChat.Server.Diagnostics;

public static class DiagnosticsHosting
{
    /// <summary>
    /// The readiness checks and, with <c>--metrics</c>, the HTTP endpoint serving them with the metrics. Register it
    /// before the storage and the actor system, so that it answers (not ready) while they start.
    /// </summary>
    public static IServiceCollection AddMetricsEndpoint(this IServiceCollection services)
    {
        services.AddSingleton<Readiness>();
        services.AddSingleton<MetricsEndpoint>();
        services.AddHostedService(provider => provider.GetRequiredService<MetricsEndpoint>());
        return services;
    }

    /// <summary>Tells <see cref="Readiness"/> the actor system has started (its cluster state is what it reads).</summary>
    public static AkkaConfigurationBuilder AddReadiness(this AkkaConfigurationBuilder builder, Readiness readiness) =>
        builder.AddStartup((system, _) => readiness.ActorSystemStarted(system));
}
