using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Group;

/// <summary>A room's admission policy (PROTOCOL.md §8.3): set by its creating commit, changed only by a SetPolicy operation.</summary>
public static class RoomPolicies
{
    public const long DefaultAbsenceLimitMs = 14L * 24 * 3_600_000;
    public const long MinAbsenceLimitMs = 3_600_000;
    public const long MaxAbsenceLimitMs = 90L * 24 * 3_600_000;

    /// <summary>OPEN, 14 days.</summary>
    public static RoomPolicy Default => new() { Admission = Admission.Open, AbsenceLimitMs = DefaultAbsenceLimitMs };

    public static RoomPolicy Of(Admission admission, long absenceLimitMs = DefaultAbsenceLimitMs) =>
        new() { Admission = admission, AbsenceLimitMs = (ulong)absenceLimitMs };

    /// <summary>Admission OPEN or INVITE, absence limit in [1 hour, 90 days].</summary>
    public static bool IsValid(RoomPolicy? policy) =>
        policy is not null && policy.Admission is Admission.Open or Admission.Invite
        && policy.AbsenceLimitMs >= MinAbsenceLimitMs && policy.AbsenceLimitMs <= MaxAbsenceLimitMs;

    /// <summary>Field by field (a policy is compared as values, never as bytes).</summary>
    public static bool Same(RoomPolicy? left, RoomPolicy? right) =>
        left is not null && right is not null && left.Admission == right.Admission && left.AbsenceLimitMs == right.AbsenceLimitMs;
}
