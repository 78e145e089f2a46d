using Akka.Actor;
using Akka.Actor.Internal;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>Internal: a child Worker failed; <c>Restarted</c> false means the restart limit was hit and it is stopped.</summary>
public sealed record ChildFailed(string ChildActorName, string Error, bool Restarted) : IYoiMessage;

/// <summary>How a Worker supervises its children: an actor failure restarts the child (it recovers from its journal;
/// its interrupted run is handled as after any crash) up to <c>maxRetries</c> within <c>window</c>, then stops it.
/// The parent is told either way, so its model hears of it (errored, then shut_down on stop).</summary>
public sealed class ChildSupervisorStrategy(IActorRef parent, int maxRetries, TimeSpan window)
    : OneForOneStrategy(maxRetries, window, Decide)
{
    private static Directive Decide(Exception e) => e is ActorInitializationException or DeathPactException ? Directive.Stop : Directive.Restart;

    /// <summary>As <see cref="OneForOneStrategy"/> does, but the parent learns the actual outcome: the restart
    /// permission (the limit) is decided here, before the parent is told.</summary>
    public override void ProcessFailure(IActorContext context, bool restart, IActorRef child, Exception cause, ChildRestartStats stats,
        IReadOnlyCollection<ChildRestartStats> children)
    {
        var restarted = restart && stats.RequestRestartPermission(MaxNumberOfRetries, WithinTimeRangeMilliseconds);
        parent.Tell(new ChildFailed(child.Path.Name, cause.Message, restarted));
        if (restarted) RestartChild(child, cause, suspendFirst: false);
        else context.Stop(child);
    }
}
