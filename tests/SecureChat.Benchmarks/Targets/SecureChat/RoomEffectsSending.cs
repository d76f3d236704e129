using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Core.Wire;

namespace SecureChat.Benchmarks.Targets.SecureChat;

/// <summary>Carries out what a member's <see cref="ClientRoom"/> answered, over the benchmark's own TLS connection.</summary>
internal static class RoomEffectsSending
{
    /// <summary>Sends the room's frames in order; a problem the room reports ends the setup (a benchmark does not recover).</summary>
    public static async Task SendEffectsAsync(this FramedTlsClient connection, RoomEffects effects, string member, CancellationToken cancellationToken)
    {
        if (effects.Events.FirstOrDefault(e => e is ErrorReported or Warning) is { } problem)
        {
            throw new InvalidOperationException($"{member}: {problem}");
        }

        foreach (var envelope in effects.Outbound.ToList())
        {
            await connection.SendNowAsync(EnvelopeCodec.Encode(envelope), cancellationToken);
        }
    }
}
