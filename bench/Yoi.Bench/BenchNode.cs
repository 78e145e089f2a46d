using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Bench;

/// <summary>An in-process Yoi node (real cluster, sharding and SQLite journal) for whole-system figures.
/// Every Worker gets a zero-latency scripted model answering each run with one tool call, then text.</summary>
public sealed class BenchNode : IAsyncDisposable
{
    private readonly IHost _host;
    public ActorSystem System { get; }
    public IActorRef Region { get; }
    public string Home { get; }

    private readonly string _manifest;

    private BenchNode(IHost host, string home, string manifest)
    {
        _host = host;
        Home = home;
        _manifest = manifest;
        System = host.Services.GetRequiredService<ActorSystem>();
        Region = host.Services.GetRequiredService<ActorRegistry>().Get<WorkerRegion>();
    }

    /// <summary>Starts a node; <paramref name="model"/> replaces the ping-pong model, <paramref name="manifest"/> the
    /// default manifest Workers are created with.</summary>
    public static async Task<BenchNode> StartAsync(string home, int snapshotEvery = 500, string? journal = null,
        Func<IModelClient>? model = null, string manifest = Manifest, TimeSpan? idlePassivation = null)
    {
        var runtime = new WorkerRuntime((_, _) => model?.Invoke() ?? new PingPongModel(), _ => [new EchoTool()], snapshotEvery,
            IdlePassivation: idlePassivation);
        // No default configuration sources (as `yoi serve`): their file watchers would wake on every journal write.
        // $YOI_BENCH_HOCON: extra deploy-time HOCON for every bench node (tuning experiments; it wins, as `--hocon`).
        var host = new HostBuilder()
            .ConfigureLogging(l => l.AddConsole().SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                b.AddYoiNode(new YoiNodeOptions { Home = home, SnapshotEvery = snapshotEvery, Journal = journal, JournalSync = Sync, ExtraHocon = Environment.GetEnvironmentVariable("YOI_BENCH_HOCON") }, runtime)))
            .Build();
        await host.StartAsync();
        var node = new BenchNode(host, home, manifest);
        await host.Services.GetRequiredService<ActorRegistry>().GetAsync<WorkerRegion>();
        return node;
    }

    /// <summary>The journal's SQLite synchronous level for every node the bench starts (`--journal-sync normal|full`).</summary>
    public static SqliteSync Sync { get; set; } = SqliteSync.Normal;

    public const string Manifest = "[model]\nscheme = \"scripted\"\nscript = \"bench.json\"\n";

    public BenchClient Client(string worker) => new(System, Region, worker, _manifest);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    internal sealed class EchoTool : ITool
    {
        public string Name => "Echo";
        public string Description => "Echoes its input";
        public bool ReadOnly => true; // pure: no side effect to order after its call's write
        public JsonElement InputSchema { get; } = JsonSerializer.SerializeToElement(new { type = "object" });
        public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct) =>
            Task.FromResult(new ToolOutput("echo: " + input.GetRawText()));
    }
}

/// <summary>A client attached to one Worker: sends runs and waits for them to end.</summary>
public sealed class BenchClient
{
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>();
    private readonly IActorRef _region;
    private readonly IActorRef _self;
    private readonly string _worker;

    private readonly string _manifest;

    private readonly ActorSystem _system;

    public BenchClient(ActorSystem system, IActorRef region, string worker, string manifest = BenchNode.Manifest)
    {
        _system = system;
        _region = region;
        _worker = worker;
        _manifest = manifest;
        _self = system.ActorOf(Props.Create(typeof(Inbox), _inbox.Writer));
    }

    public async Task<SnapshotEvent> AttachAsync(bool create = true)
    {
        _region.Tell(new WorkerEnvelope(_worker, new AttachClient(_self, create ? _manifest : null, Path.GetTempPath())));
        return (SnapshotEvent)await WaitAsync(m => m is SnapshotEvent);
    }

    /// <summary>One run; returns when its final status arrives.</summary>
    public async Task RunAsync(string text)
    {
        Send(new RunMethod([new TextSegment(text)]));
        var end = await WaitAsync(m => m is RunEndEvent or ErrorEvent);
        if (end is ErrorEvent e) throw new InvalidOperationException($"{_worker}: {e.Code} {e.Message}");
        await WaitAsync(m => m is StatusEvent { Status: WorkerStatus.Idle });
    }

    /// <summary>Stops the Worker (it passivates, so remember-entities forgets it and the next attach recovers it).</summary>
    public async Task ShutdownAsync()
    {
        Send(new ShutdownMethod());
        await WaitAsync(m => m is ShutdownEvent);
        await Task.Delay(500); // the shard handles the passivation
    }

    /// <summary>Manual compaction; returns when it is done.</summary>
    public async Task CompactAsync()
    {
        Send(new CompactMethod());
        var end = await WaitAsync(m => m is CompactDoneEvent or CompactFailedEvent or AlertEvent);
        if (end is not CompactDoneEvent) throw new InvalidOperationException("compaction did not complete: " + ((Event)end).Encode());
    }

    /// <summary>Detaches by stopping the client actor (the Worker watches it): unattended, the Worker passivates
    /// after its idle time.</summary>
    public void Detach() => _system.Stop(_self);

    private void Send(Method m) => _region.Tell(new WorkerEnvelope(_worker, new ClientMethod(m, _self)));

    private async Task<object> WaitAsync(Func<object, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            var m = await _inbox.Reader.ReadAsync(cts.Token);
            if (match(m)) return m;
        }
    }

    /// <summary>UTF-8 JSON bytes of every event the bench's clients received, as a socket client would be sent them.</summary>
    public static long StreamedBytes => Interlocked.Read(ref _streamedBytes);
    private static long _streamedBytes;

    /// <summary>Serializes every event to the protocol's JSON, as the socket endpoint does for an attached client, so
    /// that the side by side charges Yoi the same streaming work as the peers' JSON consumers (issue 20, item 3).</summary>
    private sealed class Inbox : ReceiveActor
    {
        public Inbox(ChannelWriter<object> writer) => ReceiveAny(m =>
        {
            if (m is Event e) Interlocked.Add(ref _streamedBytes, JsonSerializer.SerializeToUtf8Bytes(e, YoiJson.Options).Length);
            writer.TryWrite(m);
        });
    }
}
