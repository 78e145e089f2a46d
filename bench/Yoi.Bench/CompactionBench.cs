using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Compaction;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Bench;

/// <summary>`--compaction`: journal recovery time of a Worker whose journal holds ~50,000 entries across 5
/// compactions (the compacted segments stay in the journal; snapshots hold only the current segment).</summary>
public static class CompactionBench
{
    private const string Manifest = "[model]\nscheme = \"scripted\"\nscript = \"bench.json\"\n[compaction]\nretained_tokens = 200\n";

    public static async Task RunAsync(string home, int entries, int compactions = 5, int snapshotEvery = 500)
    {
        long rows;
        int current;
        await using (var node = await Node.StartAsync(home, snapshotEvery))
        {
            var client = node.Client("compacted");
            await client.AttachAsync(create: true);
            var perSegment = entries / (compactions + 1);
            for (var c = 1; c <= compactions; c++)
            {
                while (JournalRows(home) < (long)perSegment * c) await client.RunAsync("fill");
                await client.CompactAsync();
            }
            while (JournalRows(home) < entries) await client.RunAsync("fill");
            rows = JournalRows(home);
            current = (await node.Client("compacted").AttachAsync(create: false)).Entries.Count;
        }
        var samples = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            await using var node = await Node.StartAsync(home, snapshotEvery);
            // Warm node: recover once, stop the Worker (passivate), then time a cold recovery from the journal.
            var first = node.Client("compacted");
            await first.AttachAsync(create: false);
            await first.ShutdownAsync();
            await Task.Delay(500);
            var client = node.Client("compacted");
            var sw = Stopwatch.StartNew();
            var snapshot = await client.AttachAsync(create: false);
            samples.Add(sw.Elapsed.TotalMilliseconds);
            if (snapshot.Entries[0] is not SegmentStartEntry { CompactedFrom: not null })
                throw new InvalidOperationException("did not recover into the compacted segment");
        }
        samples.Sort();
        Console.WriteLine($"recovery of a {rows}-entry Worker across {compactions} compactions (snapshot every {snapshotEvery}, " +
                          $"current segment {current} entries): median {samples[1]:F0} ms (stopped Worker: attach → snapshot event, 3 fresh nodes)");
    }

    private static long JournalRows(string home)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(home, "yoi.db")};Mode=ReadOnly");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = 'worker|compacted'";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>Ping-pong for runs (one tool call, then text); for the summariser: write_summary, then text.</summary>
    private sealed class BenchModel : IModelClient
    {
        public string Provider => "scripted";
        private static long _calls;
        public string Model => "compaction-bench";

        public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
        {
            await Task.CompletedTask;
            var summariser = request.SystemPrompt == Summariser.SystemPrompt;
            var tokens = (ulong)(TokenAccounting.Prefix(request.Items)[^1] / 4); // usage grows with the context
            if (request.Items.Count > 0 && request.Items[^1] is MessageItem { Role: Role.User })
            {
                var (name, args) = summariser
                    ? (SummariserTools.WriteSummary, JsonSerializer.Serialize(new { text = "The user asked for fills; each was echoed and answered." }))
                    : ("Echo", "{\"text\":\"ping\"}");
                yield return new BlockStart(0, BlockType.ToolUse, "c" + Interlocked.Increment(ref _calls), name);
                yield return new BlockDelta(0, DeltaKind.InputJson, args);
                yield return new BlockStop(0, BlockType.ToolUse, StopReason.ToolUse);
                yield return new StreamUsage(tokens, 10);
            }
            else
            {
                yield return new BlockStart(0, BlockType.Text);
                yield return new BlockDelta(0, DeltaKind.Text, "done");
                yield return new BlockStop(0, BlockType.Text, StopReason.EndTurn);
                yield return new StreamUsage(tokens, 2);
            }
        }
    }

    private sealed class EchoTool : ITool
    {
        public string Name => "Echo";
        public string Description => "Echoes its input";
        public JsonElement InputSchema { get; } = JsonSerializer.SerializeToElement(new { type = "object" });
        public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct) =>
            Task.FromResult(new ToolOutput("echo: " + input.GetRawText()));
    }

    private sealed class Node : IAsyncDisposable
    {
        private readonly IHost _host;
        private readonly ActorSystem _system;
        private readonly IActorRef _region;

        private Node(IHost host, IActorRef region)
        {
            _host = host;
            _system = host.Services.GetRequiredService<ActorSystem>();
            _region = region;
        }

        public static async Task<Node> StartAsync(string home, int snapshotEvery)
        {
            var runtime = new WorkerRuntime((_, _) => new BenchModel(), _ => [new EchoTool()], snapshotEvery);
            var host = Host.CreateDefaultBuilder()
                .ConfigureLogging(l => l.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning))
                .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                    b.AddYoiNode(new YoiNodeOptions { Home = home, SnapshotEvery = snapshotEvery }, runtime)))
                .Build();
            await host.StartAsync();
            var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<WorkerRegion>();
            return new Node(host, region);
        }

        public Client Client(string worker) => new(_system, _region, worker);

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    private sealed class Client
    {
        private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>();
        private readonly IActorRef _region;
        private readonly IActorRef _self;
        private readonly string _worker;

        public Client(ActorSystem system, IActorRef region, string worker)
        {
            _region = region;
            _worker = worker;
            _self = system.ActorOf(Props.Create(() => new Inbox(_inbox.Writer)));
        }

        public async Task<SnapshotEvent> AttachAsync(bool create)
        {
            _region.Tell(new WorkerEnvelope(_worker, new AttachClient(_self, create ? Manifest : null, Path.GetTempPath())));
            return (SnapshotEvent)await WaitAsync(m => m is SnapshotEvent);
        }

        public async Task RunAsync(string text)
        {
            Send(new RunMethod([new TextSegment(text)]));
            var end = await WaitAsync(m => m is RunEndEvent or ErrorEvent);
            if (end is ErrorEvent e) throw new InvalidOperationException($"{_worker}: {e.Code} {e.Message}");
            await WaitAsync(m => m is StatusEvent { Status: WorkerStatus.Idle });
        }

        public async Task CompactAsync()
        {
            Send(new CompactMethod());
            var end = await WaitAsync(m => m is CompactDoneEvent or CompactFailedEvent or AlertEvent);
            if (end is not CompactDoneEvent) throw new InvalidOperationException("compaction did not complete: " + ((Event)end).Encode());
        }

        public async Task ShutdownAsync()
        {
            Send(new ShutdownMethod());
            await WaitAsync(m => m is ShutdownEvent);
        }

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

        private sealed class Inbox : ReceiveActor
        {
            public Inbox(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));
        }
    }
}
