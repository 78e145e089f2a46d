using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>A client connection to a Worker by full name through the shard region (the root forwards to the child):
/// attach and read up to the snapshot, then send methods and read replies. Every read has a timeout (5 s, like the
/// reference's socket operations).</summary>
public sealed class ChildProbe : IAsyncDisposable
{
    public static readonly TimeSpan OpTimeout = TimeSpan.FromSeconds(5);
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>();
    private readonly IActorRef _region;
    private readonly IActorRef _self;
    private readonly string _worker;

    private ChildProbe(ActorSystem system, string worker)
    {
        _region = ActorRegistry.For(system).Get<WorkerRegion>();
        _worker = worker;
        _self = system.ActorOf(ProbeActor.Props(_inbox.Writer));
    }

    /// <summary>Attaches; returns the snapshot, or null when the Worker is not there (rejected or no answer).</summary>
    public static async Task<(ChildProbe Probe, SnapshotEvent? Snapshot)> AttachAsync(ActorSystem system, string worker, CancellationToken ct)
    {
        var probe = new ChildProbe(system, worker);
        probe._region.Tell(new WorkerEnvelope(worker, new AttachClient(probe._self)));
        var first = await probe.NextAsync(o => o is SnapshotEvent or AttachRejected, ct);
        return (probe, first as SnapshotEvent);
    }

    public void Send(Method m) => _region.Tell(new WorkerEnvelope(_worker, new ClientMethod(m, _self) { TraceParent = Telemetry.YoiTelemetry.CurrentTraceParent() }));

    /// <summary>The next message matching <paramref name="match"/>, or null on timeout.</summary>
    public async Task<object?> NextAsync(Func<object, bool> match, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(OpTimeout);
        try
        {
            while (true)
            {
                var msg = await _inbox.Reader.ReadAsync(cts.Token);
                if (match(msg)) return msg;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync()
    {
        _region.Tell(new WorkerEnvelope(_worker, new DetachClient(_self)));
        _self.Tell(PoisonPill.Instance);
        return ValueTask.CompletedTask;
    }
}
