using System.Threading.Channels;
using Akka.Actor;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

/// <summary>A test client attached to one Worker through the shard region: an actor that queues whatever it
/// receives, read with explicit timeouts (no test waits forever).</summary>
public sealed class WorkerClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>();
    private readonly IActorRef _region;
    private readonly IActorRef _self;
    private string _worker = "";

    public WorkerClient(ActorSystem system, IActorRef region)
    {
        _region = region;
        _self = system.ActorOf(Props.Create(() => new Inbox(_inbox.Writer)));
    }

    public IActorRef Ref => _self;

    public List<object> Seen { get; } = [];

    public async Task<SnapshotEvent> AttachAsync(string worker, string? manifestToml = null, string? dir = null, bool commits = false)
    {
        _worker = worker;
        _region.Tell(new WorkerEnvelope(worker, new AttachClient(_self, manifestToml, dir, commits)));
        return await NextAsync<SnapshotEvent>();
    }

    public void Attach(string worker, string? manifestToml = null, string? dir = null)
    {
        _worker = worker;
        _region.Tell(new WorkerEnvelope(worker, new AttachClient(_self, manifestToml, dir)));
    }

    public void Send(Method m) => _region.Tell(new WorkerEnvelope(_worker, new ClientMethod(m, _self)));

    public void Run(string text) => Send(new RunMethod([new TextSegment(text)]));

    /// <summary>Next message of type T (others seen on the way are kept in <see cref="Seen"/>).</summary>
    public async Task<T> NextAsync<T>(Func<T, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            while (true)
            {
                var msg = await _inbox.Reader.ReadAsync(cts.Token);
                Seen.Add(msg);
                if (msg is T t && (match is null || match(t))) return t;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {typeof(T).Name} within {(timeout ?? Timeout).TotalSeconds}s; saw: " +
                                       string.Join(", ", Seen.Select(Describe)));
        }
    }

    /// <summary>Waits for the run's final status (the status after run_end or error).</summary>
    public async Task<List<object>> UntilStatusAsync(WorkerStatus status, TimeSpan? timeout = null)
    {
        var start = Seen.Count;
        await NextAsync<StatusEvent>(s => s.Status == status, timeout);
        return Seen.Skip(start).ToList();
    }

    /// <summary>Collects everything that arrives within <paramref name="window"/>.</summary>
    public async Task<List<object>> DrainAsync(TimeSpan window)
    {
        var got = new List<object>();
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                var msg = await _inbox.Reader.ReadAsync(cts.Token);
                Seen.Add(msg);
                got.Add(msg);
            }
        }
        catch (OperationCanceledException)
        {
            return got;
        }
    }

    public static string Describe(object o) => o is Event e ? SafeEncode(e) : o.GetType().Name;

    private static string SafeEncode(Event e)
    {
        try { return e.Encode(); } catch (Exception) { return e.GetType().Name; }
    }

    public ValueTask DisposeAsync()
    {
        _region.Tell(new WorkerEnvelope(_worker, new DetachClient(_self)));
        _self.Tell(PoisonPill.Instance);
        return ValueTask.CompletedTask;
    }

    private sealed class Inbox : ReceiveActor
    {
        public Inbox(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));
    }
}
