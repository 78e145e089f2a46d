using Akka.Actor;
using Akka.Event;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>The actor side of one client connection. It is the <c>Client</c> the Worker talks to: events arrive
/// as plain messages (Sender = the Worker) and are queued to the socket in arrival order. It watches the Worker
/// once the snapshot arrived and closes the connection if the Worker terminates or says <c>shutdown</c>.</summary>
public sealed partial class ConnectionActor : ReceiveActor
{
    /// <summary>From the reader: attach (create when <c>ManifestToml</c> is set).</summary>
    public sealed record Attach(string WorkerName, string? ManifestToml, string? ManifestDir);

    /// <summary>From the reader: a decoded method after a successful attach.</summary>
    public sealed record Inbound(Method Method);

    /// <summary>From the reader: the socket closed.</summary>
    public sealed class Disconnected
    {
        public static readonly Disconnected Instance = new();
        private Disconnected() { }
    }

    private readonly ClientConnection _connection;
    private readonly IActorRef _region;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _pendingName;   // attach sent, no answer yet
    private string? _workerName;    // attached
    private IActorRef? _worker;
    private bool _closing;

    public ConnectionActor(ClientConnection connection, IActorRef region)
    {
        _connection = connection;
        _region = region;

        // Requests pass the membership gate: held while this node's membership is unconfirmed (ConnectionActor.Gate.cs).
        Receive<Attach>(a => WhenGateOpen(() =>
        {
            if (_workerName is not null || _pendingName is not null) return; // the reader prevents this
            SendAttach(a);
        }));
        Receive<AttachCheck>(_ => OnAttachCheck());

        Receive<Inbound>(m => WhenGateOpen(() =>
        {
            if (_workerName is null) return;
            _region.Tell(new WorkerEnvelope(_workerName, new ClientMethod(m.Method, Self)), Self);
        }));

        Receive<AttachRejected>(r =>
        {
            if (_pendingName is null) return;
            AttachDone();
            _connection.Send(Wire.Encode(r.Error));
            _connection.CompleteAttach(false); // the connection stays open: the client may try another attach
        });

        Receive<SnapshotEvent>(s =>
        {
            if (DropUnwantedSnapshot()) return;
            if (_workerName is null && _pendingName is not null)
            {
                _workerName = _pendingName;
                AttachDone();
                _worker = Sender;
                if (!Sender.IsNobody()) Context.Watch(Sender);
            }
            Write(s);
            _connection.CompleteAttach(true);
        });

        Receive<ShutdownEvent>(e =>
        {
            Write(e);
            // The Worker is exiting: flush the line, then close. No DetachClient needed.
            _workerName = null;
            _worker = null;
            _closing = true;
            _connection.CloseAfterFlush();
        });

        Receive<Event>(Write);

        Receive<Terminated>(t =>
        {
            if (!Equals(t.ActorRef, _worker)) return;
            _log.Debug("worker {0} terminated; closing connection {1}", _workerName, _connection.Id);
            _workerName = null;
            _worker = null;
            _closing = true;
            _connection.CloseAfterFlush();
        });

        Receive<GateCheck>(_ => ReleaseHeld());

        Receive<Disconnected>(_ =>
        {
            Detach();
            Context.Stop(Self);
        });
    }

    private void Write(Event evt)
    {
        if (_closing) return;
        string line;
        try { line = Wire.Encode(evt); }
        catch (Exception ex)
        {
            _log.Error(ex, "cannot encode {0}", evt.GetType().Name);
            line = Wire.Error(ErrorCode.Internal, $"cannot encode {evt.GetType().Name}: {ex.Message}");
        }
        _connection.Send(line);
    }

    private void Detach()
    {
        // Tell the Worker directly once known: going through the region would start a Worker that already stopped.
        if (_worker is not null && _workerName is not null) _worker.Tell(new DetachClient(Self), Self);
        else if (_pendingName is not null) _region.Tell(new WorkerEnvelope(_pendingName, new DetachClient(Self)), Self);
        _worker = null;
        _workerName = null;
        _pendingName = null;
        _pendingAttach = null;
    }

    protected override void PostStop()
    {
        Detach();
        _connection.CompleteAttach(false);
        _connection.CloseAfterFlush(); // the reader side aborts if the flush does not finish in time
    }
}
