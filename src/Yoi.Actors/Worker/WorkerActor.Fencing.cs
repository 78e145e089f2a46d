using Akka.Actor;
using Akka.Event;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Worker;

/// <summary>A refused append (the database says another incarnation owns this Worker's journal, see
/// <see cref="WriterFence"/>) stops this incarnation at once: the persist handler never runs, so nothing that
/// depended on the write — an entry event, run_end, a tool with side effects behind a durability barrier — reaches
/// a client. Clients see their connection close (the endpoint watches the Worker) and re-attach to the owner.</summary>
public sealed partial class WorkerActor
{
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (WriterFence.IsRefusal(cause))
            _log.Warning("{0}: append #{1} refused: another node owns this Worker now; this incarnation stops without acknowledging", _name, sequenceNr);
        else
            _log.Error(cause, "{0}: journal write #{1} failed; stopping (the next message recovers from the journal)", _name, sequenceNr);
        _run?.Cancel();
        Context.Stop(Self);
    }
}
