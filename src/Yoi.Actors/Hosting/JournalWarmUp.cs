using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Yoi.Actors.Hosting;

/// <summary>Once at node start: recovers a journal of its own (one marker event, written on the node's first start)
/// and creates the writer fence's trigger, then stops.</summary>
/// <remarks>Why: a failover's hand-off runs on a survivor that may never have recovered anything — the coordinator's
/// and the shard's remember-entities stores and the Worker recover there for the first time, and each first query
/// shape costs linq2db's compilation and the JIT (0.7–1.7 s per store measured on a loaded 2-core box, inside the
/// failover). Creating the fence trigger at the first claim instead would also take a lock on the journal table in
/// the middle of a failover (CREATE OR REPLACE TRIGGER waits for every open insert, a frozen node's included).</remarks>
public sealed class JournalWarmUp : UntypedPersistentActor
{
    private const string Marker = "yoi-warm-up";

    /// <summary>The trigger's creation finished (Error null) or failed; sent to itself only.</summary>
    private sealed record TriggerReady(string? Error) : INoSerializationVerificationNeeded;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Stopwatch _since = Stopwatch.StartNew();
    private readonly WriterFence _fence;

    public JournalWarmUp(string node, WriterFence fence)
    {
        PersistenceId = "yoi-warm-up|" + node;
        _fence = fence;
    }

    public static Props Props(string node, WriterFence fence) => Akka.Actor.Props.Create(() => new JournalWarmUp(node, fence));

    public override string PersistenceId { get; }

    protected override void OnRecover(object message)
    {
        if (message is not RecoveryCompleted) return;
        if (LastSequenceNr == 0) Persist(Marker, _ => Done());
        else Done();
    }

    protected override void OnCommand(object message)
    {
        if (message is not TriggerReady ready) return;
        if (ready.Error is { } error)
        {
            _fence.ResetSchemaCache();
            _log.Warning("fence trigger not created at start (the first claim will): {0}", error);
        }
        else _log.Debug("journal warm: recovery, snapshot load and fence trigger in {0} ms", _since.ElapsedMilliseconds);
        Context.Stop(Self);
    }

    private void Done() =>
        _fence.EnsureTriggerAsync().PipeTo(Self, success: () => new TriggerReady(null), failure: e => new TriggerReady(e.Message));

    /// <summary>A database that cannot be reached is the readiness checks' business, not this actor's: one try.</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Warning("journal warm-up failed (the first recovery will pay for it): {0}", reason.Message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Warning("journal warm-up failed (the first write will pay for it): {0}", cause.Message);
        Context.Stop(Self);
    }
}
