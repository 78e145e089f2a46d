using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Discovery and peers (reference-delegation §5): the ListWorkers / RestoreWorker / SendToPeerWorker tools and
/// the list_workers / restore_worker / register_peer methods. The decisions are <see cref="Discovery"/>'s; here they
/// meet the actor (child actors, the region, the clients).</summary>
public sealed partial class WorkerActor
{
    private IReadOnlyList<VisibleWorker> VisibleWorkers() =>
        Discovery.VisibleWorkers(Me, _state.SessionId, _state.SegmentId, Wire(_status), Delegation, ChildAlive);

    private bool ChildAlive(string full) => !Context.Child(new WorkerName(full).Short).IsNobody();

    private void ListWorkersTool(IActorRef replyTo)
    {
        var list = VisibleWorkers();
        replyTo.Tell(new DelegationToolReply($"{list.Count} visible worker(s)", JsonSerializer.Serialize(list, Pretty)));
    }

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    /// <summary>RestoreWorker (§5.2), decided by <see cref="Discovery.Restore"/>; the existence check of a name that is not
    /// visible answers later, as <see cref="RestoreChecked"/> (to <paramref name="toolReplyTo"/>, or the clients for the
    /// restore_worker method). Returns what is known now: the result, or a refusal, or null while the check runs.</summary>
    private Checked<RestoreDecision>? Restore(string name, IActorRef? toolReplyTo)
    {
        var decision = Discovery.Restore(name, Me, Wire(_status), Delegation, ChildAlive);
        switch (decision)
        {
            case RestoreDecision.RecreateChild r:
                Context.Watch(Context.ActorOf(Props(r.Child, _runtime), new WorkerName(r.Child).Short));
                break;
            case RestoreDecision.WakePeer w:
                Region.Tell(new WorkerEnvelope(w.Peer, new InspectWorker(ActorRefs.Nobody)));
                break;
            case RestoreDecision.Refused f:
                return f.Error;
            case RestoreDecision.CheckExistence c:
                Region.Ask<WorkerInspection>((Func<IActorRef, object>)(reply => new WorkerEnvelope(c.Name, new InspectWorker(reply))), AllocationTimeout, CancellationToken.None)
                    .PipeTo(Self, success: i => new RestoreChecked(c.Name, i.Exists, toolReplyTo), failure: _ => new RestoreChecked(c.Name, null, toolReplyTo));
                return null;
        }
        return decision;
    }

    private static (RestoreResult Result, string Summary) Restored(RestoreDecision d) => d switch
    {
        RestoreDecision.AlreadyLive a => (a.Result, a.Summary),
        RestoreDecision.RecreateChild r => (r.Result, r.Summary),
        RestoreDecision.WakePeer w => (w.Result, w.Summary),
        _ => throw new InvalidOperationException("not a restore result: " + d),
    };

    private void RestoreTool(RestoreWorkerRequest request, IActorRef replyTo)
    {
        if (Restore(request.Name, replyTo) is not { } known) return;
        if (known.Error is { } e)
        {
            replyTo.Tell(Fail(e));
            return;
        }
        var (result, summary) = Restored(known.Value!);
        replyTo.Tell(new DelegationToolReply(summary, JsonSerializer.Serialize(result)));
    }

    private void OnRestoreChecked(RestoreChecked c)
    {
        var refusal = Discovery.RestoreRefusal(c.Name, c.Exists, AllocationTimeout);
        if (c.ToolReplyTo is { } replyTo) replyTo.Tell(Fail(refusal));
        else Error(refusal.Kind == ToolErrorKind.InvalidArgument ? ErrorCode.InvalidRequest : ErrorCode.Internal, refusal.Message);
    }

    private void SendToPeer(SendToPeerRequest request, IActorRef replyTo)
    {
        if (Discovery.PeerMessageRefusal(request.Name, Me, Delegation) is { } refusal)
        {
            replyTo.Tell(Fail(refusal));
            return;
        }
        Region.Tell(new WorkerEnvelope(request.Name, new ClientMethod(new NotifyMethod($"[Peer message from `{_name}`]\n{request.Message}", true)) { TraceParent = _inboundTraceParent }));
        replyTo.Tell(new DelegationToolReply($"sent peer message to `{request.Name}`"));
    }

    /// <summary>list_workers / restore_worker / register_peer (§2.8): Idle and Paused only (Running rejects them).</summary>
    private void DiscoveryMethod(ClientMethod m)
    {
        switch (m.Method)
        {
            case ListWorkersMethod:
                Broadcast(new WorkersListedEvent(JsonSerializer.SerializeToElement(VisibleWorkers())));
                break;
            case RestoreWorkerMethod r:
                if (Restore(r.Name, null) is not { } known) break;
                if (known.Error is { } e) Error(ErrorCode.InvalidRequest, e.Message);
                else Broadcast(new WorkerRestoredEvent(JsonSerializer.SerializeToElement(Restored(known.Value!).Result)));
                break;
            case RegisterPeerMethod p:
                if (Discovery.PeerRegistrationRefusal(p.Name, Me) is { } refusal)
                {
                    Error(ErrorCode.InvalidRequest, refusal.Message);
                    break;
                }
                Region.Ask<WorkerInspection>((Func<IActorRef, object>)(reply => new WorkerEnvelope(p.Name, new InspectWorker(reply))), AllocationTimeout, CancellationToken.None)
                    .PipeTo(Self, success: i => new PeerChecked(p.Name, i.Exists, m.Client), failure: _ => new PeerChecked(p.Name, false, m.Client));
                break;
        }
    }

    private void OnPeerChecked(PeerChecked c)
    {
        if (!c.Exists)
        {
            Error(ErrorCode.InvalidRequest, $"worker `{c.Peer}` does not exist");
            return;
        }
        void Done()
        {
            Region.Tell(new WorkerEnvelope(c.Peer, new AddPeer(_name)));
            Broadcast(new PeerRegisteredEvent(JsonSerializer.SerializeToElement(new PeerRegistration(_name, c.Peer))));
        }
        if (Delegation.Peers.Contains(c.Peer)) Done();
        else Commit(new PeerAdded(Now(), c.Peer), Done);
    }

    private IReadOnlyList<string> ChildNames() => Delegation.Children.Select(c => c.Name).ToList();

    private IReadOnlyList<string> LoanDescriptions() => Discovery.Loans(Delegation).Select(l => JsonSerializer.Serialize(l)).ToList();
}
