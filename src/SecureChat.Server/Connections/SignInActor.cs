using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace SecureChat.Server.Connections;

/// <summary>
/// The cluster-wide sign-in table of a client id (PROTOCOL.md §4.1.1): a sharded entity (<see cref="SignInsHosting"/>), so every
/// node's connections of one id tell the same actor, wherever it lives, and the order their sign-ins reach it decides. The rule
/// is <see cref="SignIns{TConnection}"/>'s; this actor only tells the displaced connection, watches the signed-in one (its end
/// frees the id, and an ended connection is never told later) and acknowledges each sign-in. Nothing is persisted: a table
/// that is handed off or lost starts empty, and the connections it knew sign in again as resuming (they watch it). With no
/// connection left it passivates.
/// </summary>
public sealed class SignInActor : ReceiveActor
{
    private readonly SignIns<IActorRef> _signIns = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _passivating;

    public SignInActor()
    {
        Receive<SignIn>(OnSignIn);
        Receive<Terminated>(terminated =>
        {
            _signIns.SignOut(terminated.ActorRef);
            PassivateWhenEmpty();
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new SignInActor());

    private void OnSignIn(SignIn signIn)
    {
        var connection = signIn.Connection;
        if (signIn.Resume)
        {
            if (!_signIns.Resume(signIn.ClientId, connection))
            {
                _log.Info("Client {0}: a connection ({1}) signed in again after the sign-in table moved, but a newer one holds the id; it is told SIGNED_IN_ELSEWHERE",
                    signIn.ClientId, connection.Path);
                connection.Tell(SignedInElsewhere.Instance);
                PassivateWhenEmpty();
                return;
            }
        }
        else if (_signIns.SignIn(signIn.ClientId, connection) is { } displaced)
        {
            _log.Info("Client {0} signed in again ({1}); its earlier connection ({2}) is told SIGNED_IN_ELSEWHERE", signIn.ClientId, connection.Path, displaced.Path);
            Context.Unwatch(displaced);
            displaced.Tell(SignedInElsewhere.Instance);
        }

        Context.Watch(connection);
        connection.Tell(new SignInRecorded(signIn.ClientId));
    }

    private void PassivateWhenEmpty()
    {
        // A sign-in that arrives after this (already in the mailbox) is recorded and then lost with the entity; its connection
        // sees the entity end and signs in again, resuming, at the next incarnation.
        if (_signIns.Count == 0 && !_passivating)
        {
            _passivating = true;
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        }
    }
}
