using Akka.Actor;
using Akka.Event;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>A pending attach is re-sent until it is answered: a message routed to a Worker on a node that has just
/// died, frozen or been cut off is lost, and once the cluster moves the Worker's shard the re-sent attach reaches the
/// new incarnation (the Worker ignores a repeated attach from a client it already has). After
/// <see cref="AttachGiveUp"/> the client gets an error and may attach again: no connection waits forever.</summary>
public sealed partial class ConnectionActor
{
    public static readonly TimeSpan AttachResend = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan AttachGiveUp = TimeSpan.FromSeconds(30);

    private sealed class AttachCheck
    {
        public static readonly AttachCheck Instance = new();
        private AttachCheck() { }
    }

    private Attach? _pendingAttach;
    private DateTime _attachSentAt;

    private void SendAttach(Attach a)
    {
        _pendingName = a.WorkerName;
        _pendingAttach = a;
        _attachSentAt = DateTime.UtcNow;
        _region.Tell(new WorkerEnvelope(a.WorkerName, new AttachClient(Self, a.ManifestToml, a.ManifestDir)), Self);
        Timers.StartSingleTimer("attach-check", AttachCheck.Instance, AttachResend);
    }

    private void OnAttachCheck()
    {
        if (_pendingAttach is not { } a || _pendingName is null || _closing) return;
        if (DateTime.UtcNow - _attachSentAt > AttachGiveUp)
        {
            _region.Tell(new WorkerEnvelope(a.WorkerName, new DetachClient(Self)), Self); // a late answer is undone
            AttachDone();
            _connection.Send(Wire.Error(ErrorCode.Internal,
                $"worker `{a.WorkerName}` did not answer the attach within {AttachGiveUp.TotalSeconds:0} s (its node may be failing over); attach again"));
            _connection.CompleteAttach(false);
            return;
        }
        _log.Debug("attach of {0} not answered yet; re-sending", a.WorkerName);
        _region.Tell(new WorkerEnvelope(a.WorkerName, new AttachClient(Self, a.ManifestToml, a.ManifestDir)), Self);
        Timers.StartSingleTimer("attach-check", AttachCheck.Instance, AttachResend);
    }

    private void AttachDone()
    {
        _pendingName = null;
        _pendingAttach = null;
        Timers.Cancel("attach-check");
    }

    /// <summary>A snapshot nobody waits for (the answer to a re-sent or given-up attach, from another incarnation than
    /// the one attached): that incarnation forgets this client; nothing reaches the socket.</summary>
    private bool DropUnwantedSnapshot()
    {
        if (_pendingName is not null) return false;
        if (_workerName is not null && Equals(Sender, _worker)) return true; // a repeated answer of the attached Worker
        if (!Sender.IsNobody()) Sender.Tell(new DetachClient(Self), Self);
        return true;
    }
}
