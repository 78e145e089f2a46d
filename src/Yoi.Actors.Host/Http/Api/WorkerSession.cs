using System.Threading.Channels;
using Akka.Actor;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>One HTTP request's (or one event stream's) attachment to a Worker, the same way a socket client attaches:
/// a <see cref="SessionActor"/> is the Worker's client and hands every event to a bounded channel without ever
/// blocking the Worker. When the reader lags past <see cref="Capacity"/> events the channel is completed with
/// <see cref="Overflowed"/> set: a slow client never slows the Worker, it loses its stream and resumes by cursor.</summary>
public sealed class WorkerSession : IAsyncDisposable
{
    public static readonly TimeSpan AttachTimeout = TimeSpan.FromSeconds(30);

    private readonly Channel<Event> _events;
    private readonly TaskCompletionSource<Event> _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IActorRef _actor;
    private volatile bool _overflowed;

    private WorkerSession(ActorSystem system, IActorRef region, int capacity)
    {
        Capacity = capacity;
        _events = Channel.CreateBounded<Event>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _actor = system.ActorOf(Props.Create(() => new SessionActor(this, region)));
    }

    public int Capacity { get; }

    /// <summary>Events after the snapshot, in the Worker's order; completes when the Worker goes away or on overflow.</summary>
    public ChannelReader<Event> Events => _events.Reader;

    public bool Overflowed => _overflowed;

    /// <summary>With <c>commits</c>: the journal sequence number the snapshot is at. The events then carry a
    /// <see cref="JournalPosition"/> after each record the Worker commits.</summary>
    public long AttachedAt { get; private set; }

    /// <summary>Attaches (creating the Worker when <paramref name="manifestToml"/> is given). Returns the
    /// <see cref="SnapshotEvent"/>, or the <see cref="ErrorEvent"/> the attach was refused with.</summary>
    public static async Task<(WorkerSession Session, Event Outcome)> AttachAsync(ActorSystem system, IActorRef region, string worker,
        string? manifestToml = null, string? manifestDir = null, int capacity = 1024, CancellationToken ct = default, bool commits = false)
    {
        var session = new WorkerSession(system, region, capacity);
        session._actor.Tell(new SessionActor.Attach(worker, manifestToml, manifestDir, commits));
        try
        {
            return (session, await session._attached.Task.WaitAsync(AttachTimeout, ct));
        }
        catch (TimeoutException)
        {
            return (session, new ErrorEvent(ErrorCode.Internal, $"worker `{worker}` did not answer the attach within {AttachTimeout.TotalSeconds:0}s"));
        }
    }

    public void Send(Method method) => _actor.Tell(new SessionActor.Inbound(method));

    public ValueTask DisposeAsync()
    {
        _actor.Tell(PoisonPill.Instance);
        return ValueTask.CompletedTask;
    }

    private void OnAttached(Event outcome) => _attached.TrySetResult(outcome);

    private void OnEvent(Event e)
    {
        if (_events.Writer.TryWrite(e)) return;
        _overflowed = true;
        _events.Writer.TryComplete();
    }

    private void OnGone() => _events.Writer.TryComplete();

    /// <summary>The Worker's client for one session (like the socket endpoint's ConnectionActor).</summary>
    private sealed class SessionActor : ReceiveActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        private sealed record ResendAttach;

        private AttachClient? _pending; // re-sent until answered, as the socket endpoint does (ConnectionActor.Attach.cs)

        public sealed record Attach(string Worker, string? ManifestToml, string? ManifestDir, bool Commits = false);

        public sealed record Inbound(Method Method);

        private readonly WorkerSession _session;
        private readonly IActorRef _region;
        private string? _name;
        private IActorRef? _worker;
        private bool _commits;
        private SnapshotEvent? _snapshot; // with commits: held until the position that follows it

        public SessionActor(WorkerSession session, IActorRef region)
        {
            _session = session;
            _region = region;
            Receive<Attach>(a =>
            {
                _name = a.Worker;
                _commits = a.Commits;
                _pending = new AttachClient(Self, a.ManifestToml, a.ManifestDir, a.Commits);
                _region.Tell(new WorkerEnvelope(a.Worker, _pending), Self);
                Timers.StartPeriodicTimer("resend", new ResendAttach(), Endpoint.ConnectionActor.AttachResend);
            });
            // An attach routed to a node that just died is lost; once the Worker's shard moved the re-sent one reaches
            // the new incarnation (the Worker ignores a repeated attach from a client it has).
            Receive<ResendAttach>(_ =>
            {
                if (_pending is not null && _name is not null) _region.Tell(new WorkerEnvelope(_name, _pending), Self);
                else Timers.Cancel("resend");
            });
            Receive<Inbound>(m =>
            {
                if (_name is not null) _region.Tell(new WorkerEnvelope(_name, new ClientMethod(m.Method, Self)), Self);
            });
            Receive<AttachRejected>(r =>
            {
                Answered();
                _session.OnAttached(r.Error);
            });
            Receive<SnapshotEvent>(s =>
            {
                Answered();
                if (_worker is not null && !Equals(Sender, _worker))
                {
                    Sender.Tell(new DetachClient(Self), Self); // a second incarnation answered a re-sent attach
                    return;
                }
                if (_worker is null && !Sender.IsNobody())
                {
                    _worker = Sender;
                    Context.Watch(Sender);
                }
                if (_commits && !_session._attached.Task.IsCompleted) _snapshot = s;
                else _session.OnAttached(s);
            });
            Receive<JournalCommitted>(c =>
            {
                if (_snapshot is { } s)
                {
                    _snapshot = null;
                    _session.AttachedAt = c.SequenceNr;
                    _session.OnAttached(s);
                }
                else _session.OnEvent(new JournalPosition(c.SequenceNr));
            });
            Receive<ShutdownEvent>(e =>
            {
                _session.OnEvent(e);
                _session.OnGone();
            });
            Receive<Event>(e => _session.OnEvent(e));
            Receive<Terminated>(t =>
            {
                if (Equals(t.ActorRef, _worker)) _session.OnGone();
            });
        }

        private void Answered()
        {
            _pending = null;
            Timers.Cancel("resend");
        }

        protected override void PostStop()
        {
            // Straight to the Worker once known: through the region would restart a Worker that already stopped.
            if (_worker is not null) _worker.Tell(new DetachClient(Self), Self);
            else if (_name is not null) _region.Tell(new WorkerEnvelope(_name, new DetachClient(Self)), Self);
            _session.OnGone();
            _session.OnAttached(new ErrorEvent(ErrorCode.Internal, "session closed"));
        }
    }
}
