using SecureChat.Protocol.Identity;

namespace SecureChat.Client.Session;

/// <summary>
/// What /trust does: it accepts exactly the changed key whose fingerprint the user compared, never "whichever
/// key was seen last" (a second change between comparing and typing /trust would otherwise be accepted blind).
/// </summary>
public static class KeyTrust
{
    /// <summary>
    /// With a <paramref name="typedFingerprint"/>: accepts the pending key of <paramref name="clientId"/> with that
    /// fingerprint (<see cref="TrustUpdated"/>), or accepts nothing (<see cref="TrustRefused"/>). Without one: lists
    /// the pending keys (<see cref="PendingKeys"/>) and accepts nothing.
    /// </summary>
    public static ClientEvent Apply(TrustStore store, string clientId, string? typedFingerprint)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(clientId);
        var pending = store.PendingChangesFor(clientId);
        var shown = pending.Select(c => new PendingKey(c.PinnedFingerprint, c.NewFingerprint)).ToList();
        if (typedFingerprint is null)
        {
            return new PendingKeys(clientId, shown);
        }

        var typed = Digits(typedFingerprint);
        for (var i = 0; i < pending.Count; i++)
        {
            if (typed.Length > 0 && string.Equals(Digits(shown[i].NewFingerprint), typed, StringComparison.Ordinal))
            {
                store.Accept(clientId, pending[i].NewKey);
                return new TrustUpdated(clientId, shown[i].NewFingerprint);
            }
        }

        return new TrustRefused(clientId, typedFingerprint, shown);
    }

    /// <summary>A fingerprint as compared: its characters without white space ("12345 67890" and "1234567890" are one).</summary>
    public static string Digits(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        return string.Concat(fingerprint.Where(c => !char.IsWhiteSpace(c)));
    }
}
