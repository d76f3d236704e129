using System.Globalization;
using System.Text;
using SecureChat.Client.Rooms;
using SecureChat.Client.Session;
using SecureChat.Protocol.Group;
using SecureChat.Transport.Certificates;

namespace SecureChat.Cli.Chat;

/// <summary>What the advice after a stop names: our id and the folder our certificates are read from.</summary>
internal sealed record StopContext(string ClientId, string CertsDirectory);

/// <summary>
/// The words for what the client library reports: one printed line per event (the chat terminal and the
/// simulator's report). Text the server wrote is quoted and labelled as the server's, so it can never pass for
/// a line of ours or a chat line; the output path neutralises every character of every line
/// (<see cref="TerminalText"/>), whoever wrote it.
/// </summary>
internal static class EventText
{
    public const string RoomNameRule = "room names are 1-64 characters of A-Z a-z 0-9 . _ @ -";

    /// <summary>Server text longer than this is cut (the reference server's reasons are at most 200 characters).</summary>
    public const int MaxServerTextLength = 300;

    /// <summary>What marks a message whose sender signs with an identity key the user has not accepted.</summary>
    public const string UnverifiedKeyMark = "[unverified key]";

    /// <summary>What marks a message that was reported as withheld and arrived after all.</summary>
    public const string LateAfterReportMark = "[late: reported withheld before]";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The line to print for <paramref name="e"/>; null for events the terminal does not show.</summary>
    public static string? Format(ClientEvent e) => e switch
    {
        Connected c => $"* connected as {c.ClientId}",
        Joined { Recovered: true } j => string.Create(Invariant,
            $"* joined {j.RoomId} ({j.MemberCount} member(s) there); the server restored this room from storage since you were last in it (epoch {j.CurrentEpoch}); waiting for the room key..."),
        Joined j => string.Create(Invariant, $"* joined {j.RoomId} ({j.MemberCount} member(s) there); waiting for the room key..."),
        KeyEstablished k => string.Create(Invariant, $"* [{k.RoomId}] keys ready: epoch {k.Epoch}, {k.MemberCount} member(s), code {k.EpochCode}"),
        MemberJoined { AlreadyPresent: true } m => $"* [{m.RoomId}] {m.ClientId} is here, fingerprint {m.Fingerprint}",
        MemberJoined m => $"* [{m.RoomId}] {m.ClientId} joined, fingerprint {m.Fingerprint}",
        MemberLeft m => $"* [{m.RoomId}] {m.ClientId} {Describe(m)}",
        Left l => $"* left {l.RoomId}",
        Resumed r => string.Create(Invariant, $"* [{r.RoomId}] back in the room at epoch {r.Epoch}, no rejoin needed ({r.CommitsCaughtUp} commit(s) made while you were away applied)"),
        MessageReceived { SenderKeyUnaccepted: true } m =>
            string.Create(Invariant, $"[{m.RoomId}] {m.SenderId} {UnverifiedKeyMark}{LateMark(m)}{SentMark(m)}: {m.Text}"),
        MessageReceived m => string.Create(Invariant, $"[{m.RoomId}] {m.SenderId}{LateMark(m)}{SentMark(m)}: {m.Text}"),
        TrustUpdated t => $"! now trusting the key of {t.ClientId} with fingerprint {t.Fingerprint}",
        PendingKeys { Keys.Count: 0 } p => $"! no changed key is waiting for {p.ClientId}",
        PendingKeys p => $"! {p.ClientId}'s pinned key is {p.Keys[0].PinnedFingerprint}; changed key(s) waiting: {Fingerprints(p.Keys)}; " +
                         $"compare, then /trust {p.ClientId} FINGERPRINT",
        InviteSent i => $"* [{i.RoomId}] invited {i.InviteeId}: the server keeps the invite; {i.InviteeId} may /join {i.RoomId} now",
        MembershipCommitSent { ClientId: { } removed } m => $"* [{m.RoomId}] removing {removed}...",
        MembershipCommitSent m => $"* [{m.RoomId}] changing the room's policy to {(m.Admission == Core.Wire.Admission.Invite ? "invite only" : "open")}...",
        MessageSent m => string.Create(Invariant, $"* [{m.RoomId}] sent \"{m.Text}\" (epoch {m.Epoch}, #{m.Generation})"),
        MessageRelayed m => string.Create(Invariant, $"* [{m.RoomId}] the server relayed your message (epoch {m.Epoch}, #{m.Generation})"),
        MessageStored m => string.Create(Invariant, $"* [{m.RoomId}] the server stored your message (epoch {m.Epoch}, #{m.Generation}) for members who are away"),
        PositionAcknowledged p => string.Create(Invariant, $"* [{p.RoomId}] told the server you have its messages through #{p.RoomSeq}"),
        QueuedSendsReleased q => string.Create(Invariant, $"* [{q.RoomId}] sending {q.Count} held message(s) to the room as it is now"),
        Warning w => w.RoomId is null ? $"! {Describe(w)}" : $"! [{w.RoomId}] {Describe(w)}",
        ErrorReported r => r.RoomId is null ? $"error ({CodeName(r)}): {Describe(r)}" : $"error [{r.RoomId}] ({CodeName(r)}): {Describe(r)}",
        Disconnected d => ChatLines.ConnectionLost(d, everConnected: true),
        ConnectionStopped stopped => Stopped(stopped, new StopContext("ID", "certs")),
        Reconnected r => string.Create(Invariant, $"* reconnected{To(r.Server)} (reconnect #{r.Attempt}); resuming rooms"),
        _ => null,
    };

    /// <summary>Why a member is out, as far as the commit tells: the server's removal of a dropped connection and a member's own decision both read REMOVED.</summary>
    private static string Describe(MemberLeft left) => left.Reason switch
    {
        Core.Wire.RemoveReason.Left => "left",
        Core.Wire.RemoveReason.Absent => "timed out (silent past the room's absence limit)",
        Core.Wire.RemoveReason.Expired => "is out: their key expired",
        Core.Wire.RemoveReason.Rejoined => "rejoined with a new key",
        Core.Wire.RemoveReason.Removed when left.RemovedBy is { } by && by != left.ClientId => $"is out: connection lost, or removed by {by}",
        _ => "is out",
    };

    /// <summary>A message that took a minute or more says when it was sent (its sender's clock, signed by the sender).</summary>
    private static string SentMark(MessageReceived message) => (message.ReceivedAt - message.SentAt).Duration() >= TimeSpan.FromMinutes(1)
        ? string.Create(Invariant, $" (sent {message.SentAt.ToLocalTime():yyyy-MM-dd HH:mm:ss})")
        : string.Empty;

    private static string LateMark(MessageReceived message) => message.ArrivedAfterWithheldReport ? " " + LateAfterReportMark : string.Empty;

    /// <summary>The code shown in an error line: the wire code's name for what the server said, else the client's.</summary>
    public static string CodeName(ErrorReported error) => error switch
    {
        ServerError s => s.WireCode.ToString(),
        JoinRefused j => j.WireCode.ToString(),
        _ => ScreamingCase(error.Code.ToString()),
    };

    public static string Describe(RoomPhase phase) => phase switch
    {
        RoomPhase.Offline => "offline",
        RoomPhase.Joining => "joining",
        RoomPhase.AwaitingAdmission => "waiting for admission",
        RoomPhase.Ready => "ready",
        RoomPhase.Committing => "rekeying",
        RoomPhase.Left => "left",
        _ => phase.ToString(),
    };

    private static string Describe(Core.Wire.RemoveReason reason) => reason switch
    {
        Core.Wire.RemoveReason.Left => "we had left",
        Core.Wire.RemoveReason.Absent => "absent for longer than the room's absence limit",
        Core.Wire.RemoveReason.Expired => "our membership key had expired",
        Core.Wire.RemoveReason.Rejoined => "replaced by a newer session of ours",
        _ => "removed by a member",
    };

    private static string Describe(Warning warning) => warning switch
    {
        StillWaitingForAdmission => "still waiting for a member to admit us to the room",
        JoinerNotAdmitted j => $"not admitting {j.ClientId}: its bundle is invalid or it is already a member",
        Rejoining { Reason: RejoinReason.RemovedFromRoom, Removal: { } reason } r =>
            $"{r.RemovedBy ?? "a member"} removed us from the room ({Describe(reason)}); rejoining",
        Rejoining { Reason: RejoinReason.RemovedFromRoom } => "the room removed us; rejoining",
        Rejoining { Reason: RejoinReason.ResumeNotPossible, UntrustedServerReason: { } why } =>
            $"could not resume our membership ({Server(why)}); joining again with a new key",
        Rejoining { Reason: RejoinReason.ResumeNotPossible } =>
            "the server cannot bring this session up to date (its commit log does not reach back far enough); joining again with a new key",
        Rejoining r => $"the server no longer counts us as a member ({Server(r.UntrustedServerReason)}); rejoining",
        SendHeldForKeyChange h => $"held your message: the key of {string.Join(", ", h.BlockingMembers)} changed; /trust ID FINGERPRINT after comparing fingerprints",
        SendQueueFull q => string.Create(Invariant, $"{q.Queued} messages are already waiting for the room's keys; not queuing more"),
        MessageDropped d => $"dropped a message from {d.SenderId}: {Describe(d.Reason)}",
        ServerWithheldMessages { Count: 1 } w => string.Create(Invariant, $"the server withheld 1 message from {w.SenderId} in epoch {w.Epoch}"),
        ServerWithheldMessages w => string.Create(Invariant, $"the server withheld {w.Count} messages from {w.SenderId} in epoch {w.Epoch}"),
        HeldMessageDropped h => $"too many messages waiting for keys; dropped one from {h.SenderId}",
        HistoryGap { Missed: 1 } => "1 message sent while you were away is no longer on the server: you will not see it",
        HistoryGap g => string.Create(Invariant, $"{g.Missed} messages sent while you were away are no longer on the server: you will not see them"),
        RoomOffline => "offline; messages you type are kept until the room is rekeyed",
        QueuedSendsDropped q => string.Create(Invariant, $"{q.Count} queued message(s) were not sent"),
        QueuedSendsHeld q => string.Create(Invariant, $"held {q.Held} message(s) you typed before {string.Join(", ", q.JoinedSince)} joined; ") +
                             "/send-queued sends them to everyone now in the room, /drop-queued drops them",
        NothingHeld => "no messages are held",
        MembershipChangeNotMade m => $"nothing done: {m.Why}",
        AlreadyInRoom a => $"already in {a.RoomId}",
        FrameDropped f => $"sending too fast: a {f.Frame} frame was dropped",
        PacedFramesLost p => string.Create(Invariant, $"{p.Count} frame(s) waiting to be sent were lost with the connection"),
        _ => warning.ToString(),
    };

    private static string Describe(ErrorReported error) => error switch
    {
        ServerError s => Server(s.UntrustedReason),
        JoinRefused j => $"could not join {j.RoomId}: {Server(j.UntrustedReason)}",
        FrameBeforeWelcome f => $"the server sent {f.Frame} before WELCOME",
        DecryptFailed d => $"a message from {d.SenderId} failed: {Describe(d.Reason)}",
        CommitRefused { Rejoining: true } c => string.Create(Invariant, $"lost the room's keys at epoch {c.Epoch}: {Describe(c.Reason)} ({c.Reason}); rejoining"),
        CommitRefused c => string.Create(Invariant, $"refused a commit for epoch {c.Epoch}: {c.Reason}"),
        CommitRequestRefused c => $"could not commit the requested change: {c.Reason}",
        ExternalCommitFailed { Refusal: { } refusal } e => $"no member is online in {e.RoomId}, and we cannot admit ourselves: {refusal}; still waiting",
        ExternalCommitFailed e => $"no member is online in {e.RoomId}, and the server refused our self-admission: {Server(e.UntrustedServerReason ?? string.Empty)}; still waiting",
        KeyChanged k => $"{k.ClientId}'s identity key changed (was {k.PinnedFingerprint}, now {k.NewFingerprint}); " +
                        $"compare fingerprints, then /trust {k.ClientId} FINGERPRINT. Sending to this room waits until then.",
        TrustRefused { Pending.Count: 0 } t => $"no changed key is waiting for {t.ClientId}; nothing accepted",
        TrustRefused t => $"no changed key waiting for {t.ClientId} has the fingerprint {t.TypedFingerprint}; nothing accepted " +
                          $"(waiting: {Fingerprints(t.Pending)})",
        MessageNotSent m => $"message not sent: {Describe(m.Reason)}",
        MessageNotDelivered m => string.Create(Invariant, $"your message \"{m.Preview}\" (epoch {m.Epoch}, #{m.Generation}) may not have been delivered: ") +
                                 $"{Describe(m)}; it was not sent again",
        NotInRoom n => $"not in room {n.RoomId}; /join it first",
        InvalidRoomName => RoomNameRule,
        TooManyRooms t => string.Create(Invariant, $"at most {t.Max} rooms per session"),
        _ => error.ToString(),
    };

    public static string Describe(Disconnected disconnected) => disconnected.Cause switch
    {
        DisconnectCause.WelcomeTimeout => "the server did not answer HELLO in time",
        DisconnectCause.OutboundQueueFull => "the outbound queue to the server is full",
        DisconnectCause.ProtocolViolation => "the server broke the protocol",
        _ => disconnected.Detail ?? "the connection failed",
    };

    /// <summary>
    /// The one line for a stop: what happened, and what to do about it, naming the files and the commands (securechat certs ...)
    /// that fix it; every such line ends by saying that /reconnect tries again.
    /// </summary>
    public static string Stopped(ConnectionStopped stopped, StopContext context)
    {
        var id = context.ClientId;
        var certificate = CertificateFiles.ClientCertificatePath(context.CertsDirectory, id);
        var ca = CertificateFiles.CaCertificatePath(context.CertsDirectory);
        var detail = stopped.Detail is { } own ? $" ({own})" : stopped.UntrustedServerReason is { } said ? $" ({Server(said)})" : string.Empty;
        return "! " + stopped.Cause switch
        {
            StopCause.SignedInElsewhere => $"signed in elsewhere: another client with id {id} connected; this one stopped. /reconnect to take over again",
            StopCause.ClientCertificateRefused =>
                $"the server at {stopped.Server} refused our certificate {certificate}: it closed the connection right after the TLS handshake " +
                $"(most likely the certificate is issued by a CA it does not trust, or expired); not reconnecting. Re-issue it from the server's CA: " +
                $"securechat certs issue {id} --out DIR --force (DIR holding the server's ca.pem and ca.key), then /reconnect",
            StopCause.ServerCertificateUntrusted =>
                $"the server at {stopped.Server} is not one we trust: its certificate is not issued by our CA {ca}{detail}; not reconnecting. " +
                $"If the server's CA changed, get its ca.pem from whoever runs the server and put it in {context.CertsDirectory}, then /reconnect",
            StopCause.ServerNameMismatch =>
                $"the server's certificate does not name the host we connect to{detail}; not reconnecting. Connect by a name its certificate has " +
                "(--server localhost:PORT for the development certificate), or give the server a certificate for this name (securechat certs init --host NAME), then /reconnect",
            StopCause.CertificateIdMismatch =>
                $"our certificate {certificate} is not for {id}{detail}; not reconnecting. Issue one for {id}: " +
                $"securechat certs issue {id} --out {context.CertsDirectory} --force (or start with the --id the certificate is for), then /reconnect",
            StopCause.CertificateUnusable =>
                $"cannot use our certificate{detail}; not reconnecting. Check {certificate} and its key, or issue a new one: " +
                $"securechat certs issue {id} --out {context.CertsDirectory} --force, then /reconnect",
            StopCause.UnsupportedVersion =>
                string.Create(Invariant, $"the server at {stopped.Server} speaks another protocol version{detail}; this client speaks version {Core.Wire.WireLimits.ProtocolVersion}; ") +
                "not reconnecting. Use a securechat that matches the server, then /reconnect",
            _ => $"stopped: {stopped.Cause}{detail}; /reconnect tries again",
        };
    }

    /// <summary>The connection's state on the status row after a stop: a few words, and how to go on.</summary>
    public static string StoppedStatus(ConnectionStopped stopped) => "stopped: " + stopped.Cause switch
    {
        StopCause.SignedInElsewhere => "signed in elsewhere",
        StopCause.ClientCertificateRefused => "the server refused our certificate",
        StopCause.ServerCertificateUntrusted => "server certificate not trusted",
        StopCause.ServerNameMismatch => "server certificate names another host",
        StopCause.CertificateIdMismatch => "our certificate is for another id",
        StopCause.CertificateUnusable => "certificate unusable",
        StopCause.UnsupportedVersion => "another protocol version",
        _ => stopped.Cause.ToString(),
    } + " (/reconnect)";

    public static string Describe(MessageNotDelivered message) => message.Reason switch
    {
        NotDeliveredReason.NoAcknowledgement => "the server did not confirm relaying it in time",
        NotDeliveredReason.LinkLost => "the connection dropped before the server confirmed relaying it",
        NotDeliveredReason.Refused => $"the server refused it ({message.WireCode}: {Server(message.UntrustedServerReason)})",
        NotDeliveredReason.RoomLeft => "you left the room before the server confirmed relaying it",
        NotDeliveredReason.SignedInElsewhere => "another client with your id signed in before the server confirmed relaying it",
        NotDeliveredReason.ConnectionStopped => "the connection stopped before the server confirmed relaying it",
        _ => message.Reason.ToString(),
    };

    private static string Describe(DecryptRejection reason) => reason switch
    {
        DecryptRejection.AuthenticationFailed => "it did not authenticate (altered or wrong keys)",
        DecryptRejection.Forged => "its signature is not the sender's (forged by another member)",
        DecryptRejection.Replay => "it was a replay of an earlier message",
        DecryptRejection.ExpiredEpoch => "its keys were already erased (it arrived too late)",
        DecryptRejection.NotAMember => "the sender is not a member of that epoch",
        DecryptRejection.TooFarAhead => "it skipped too many messages ahead",
        DecryptRejection.WrongSuite => "it used another cipher suite than the room",
        _ => reason.ToString(),
    };

    private static string Describe(CommitRejection reason) => reason switch
    {
        CommitRejection.EpochGap => "a commit was missed",
        CommitRejection.TranscriptMismatch => "a commit continues another history of the room",
        CommitRejection.WrapFailed => "a commit's key for us does not open",
        _ => reason.ToString(),
    };

    public static string Describe(SendRefusal reason) => reason switch
    {
        SendRefusal.BodyTooLong => "the text is too long",
        SendRefusal.NotAMember => "we are no longer a member of the room",
        _ => reason.ToString(),
    };

    private static string To(string? server) => server is null ? string.Empty : " to " + server;

    /// <summary>What the server wrote: quoted (its own quotes escaped), cut to a bounded length and labelled as the server's.</summary>
    private static string Server(string? text)
    {
        var said = text ?? string.Empty;
        if (said.Length > MaxServerTextLength)
        {
            said = said[..MaxServerTextLength] + "...";
        }

        return $"the server says \"{said.Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
    }

    private static string Fingerprints(IReadOnlyList<PendingKey> keys) => string.Join(" | ", keys.Select(k => k.NewFingerprint));

    private static string ScreamingCase(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(pascal[i]));
        }

        return builder.ToString();
    }
}
