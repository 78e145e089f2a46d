using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Yoi.Actors.Compaction;
using Yoi.Actors.Engine;
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
        await using (var node = await BenchNode.StartAsync(home, snapshotEvery, model: () => new BenchModel(), manifest: Manifest))
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
            await using var node = await BenchNode.StartAsync(home, snapshotEvery, model: () => new BenchModel(), manifest: Manifest);
            // Warm node: recover once, stop the Worker (passivate), then time a cold recovery from the journal.
            var first = node.Client("compacted");
            await first.AttachAsync(create: false);
            await first.ShutdownAsync();
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
}
