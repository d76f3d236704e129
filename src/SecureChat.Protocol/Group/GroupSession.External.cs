using SecureChat.Core.Wire;
using SecureChat.Protocol.Identity;

namespace SecureChat.Protocol.Group;

public sealed partial class GroupSession
{
    /// <summary>
    /// An external commit (PROTOCOL.md §8.9, JOINED mode EXTERNAL): a joining session admits itself when no member is online,
    /// from the room's public state. It checks <see cref="PublicRoomState.LastCommit"/> as a joiner checks a commit (§8.5) and
    /// takes the room's epoch, transcript hash, suite, policy and roster from it; then commits, as kind EXTERNAL, the LEFT removes
    /// whose leaves (from <see cref="PublicRoomState.Leaves"/>) verify, an EXPIRED remove of every expired entry, its own REJOINED
    /// when its id is in the roster with its identity key, and the Add of its join bundle (with <see cref="PublicRoomState.Invite"/>
    /// in an INVITE room, unless it rejoins). A fresh epoch secret is wrapped to every member of the new roster. Like a CREATE, the
    /// commit takes effect when the relay echoes it (<see cref="ProcessCommit"/>); a member's commit that admits the join bundle
    /// first supersedes it.
    /// </summary>
    public CommitCreation CreateExternalCommit(PublicRoomState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (Status != GroupStatus.Joining)
        {
            return new CommitNotCreated(Status == GroupStatus.Active ? CommitRefusal.NotAllowed : CommitRefusal.NotAMember);
        }

        if (state.LastCommit is not { } last || CheckFields(last, out var content) is not null
            || CheckAsJoiner(last, content!, own: true, out _, out var shape) is not null)
        {
            return new CommitNotCreated(CommitRefusal.BadRoomState);
        }

        if (content!.Epoch == ulong.MaxValue)
        {
            return new CommitNotCreated(CommitRefusal.EpochMismatch);
        }

        var newEpoch = content.Epoch + 1;
        if (_pending is { } pending)
        {
            return pending.Epoch == newEpoch
                ? new CommitCreated(pending.Commit, pending.Epoch, [], [], Repeated: true)
                : new CommitNotCreated(CommitRefusal.PendingCommitExists);
        }

        var oldRoster = shape!.Roster;
        var old = oldRoster.FirstOrDefault(m => IsSelf(m.ClientId));
        var rejoin = old is not null && old.SameIdentityKeyAs(RosterMemberOf(JoinBundle));

        // REJOINED first: it wins over a leave of our own old entry (Plan keeps the first remove of an id).
        var removes = new List<Remove>();
        if (rejoin)
        {
            removes.Add(new Remove { ClientId = LocalClientId, Reason = RemoveReason.Rejoined });
        }

        foreach (var leave in state.Leaves)
        {
            if (Leaves.Parse(leave) is { } left)
            {
                removes.Add(new Remove { ClientId = left.ClientId, Reason = RemoveReason.Left, Leave = leave });
            }
        }

        // An invite only where it is needed: in an OPEN room one members already saw spent would make them refuse the commit.
        var invite = shape.Policy.Admission == Admission.Invite && !rejoin ? state.Invite : null;
        var transcriptHash = KeySchedule.TranscriptHashOf(last, content.PreviousTranscriptHash.Span);
        var plan = Plan(CommitKind.External, newEpoch, transcriptHash, content.Suite, shape.Policy, setPolicy: null, oldRoster,
            [new Add { Bundle = JoinBundle, Invite = invite }], removes);
        if (plan.Adds.Count == 0)
        {
            var idTaken = old is not null && !plan.Removes.Any(r => IsSelf(r.ClientId));
            return new CommitNotCreated(idTaken ? CommitRefusal.IdTaken
                : shape.Policy.Admission == Admission.Invite ? CommitRefusal.NotInvited : CommitRefusal.NotAllowed);
        }

        var roster = plan.NewRoster(oldRoster);
        return roster.Count > MaxMembers ? new CommitNotCreated(CommitRefusal.RosterFull) : Seal(plan, roster, committerSent: null);
    }
}
