using System.Globalization;

namespace SecureChat.Client.Simulation;

/// <summary>
/// The text a simulated client sends: a unique id and the send time, padded to the requested size.
/// Receivers see it only after decryption, so counting ids counts end-to-end deliveries.
/// </summary>
public static class SimulationMessage
{
    private const string Prefix = "sim:";

    public static string Format(long messageId, long sentAtTicks, int size)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{messageId}:{sentAtTicks}:");
        return head.Length >= size ? head : head + new string('x', size - head.Length);
    }

    public static bool TryParse(string text, out long messageId, out long sentAtTicks)
    {
        messageId = 0;
        sentAtTicks = 0;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = text.Split(':', 4);
        return parts.Length >= 3
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out messageId)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out sentAtTicks);
    }
}
