using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Tests.Worker;

/// <summary>Shared helpers for the Worker actor tests: starting a Worker with a model and tools, barriers,
/// fresh snapshots, entry projections and direct reads of the SQLite journal.</summary>
public static class Kit
{
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    public static ScriptedModelClient Script(params ScriptedResponse[] responses) => new(responses);

    public static ScriptedResponse Resp(params ScriptItem[] items) => new(items);

    /// <summary>The Worker's manifest folder: named after the Worker so <c>node.Tools[name]</c> applies.</summary>
    public static string Dir(this WorkerNodeFixture node, string name)
    {
        var dir = Path.Combine(node.Home, "workers", name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Registers the model (and tools), creates the Worker and attaches a first client.</summary>
    public static async Task<(WorkerClient Client, SnapshotEvent Snapshot)> StartAsync(this WorkerNodeFixture node, string name,
        IModelClient model, IReadOnlyList<ITool>? tools = null, string manifestExtra = "")
    {
        node.Models[name] = model;
        if (tools is not null) node.Tools[name] = tools;
        var client = node.Client();
        var snapshot = await client.AttachAsync(name, node.Manifest(manifestExtra), node.Dir(name));
        return (client, snapshot);
    }

    /// <summary>What a brand-new connection sees: the snapshot (the alert replay is skipped).</summary>
    public static async Task<SnapshotEvent> FreshSnapshotAsync(this WorkerNodeFixture node, string name)
    {
        await using var c = node.Client();
        return await c.AttachAsync(name);
    }

    /// <summary>A round trip through the Worker's mailbox with no side effects (completions are answered in every
    /// state, to the asking client only): everything this client sent before has been handled (and persisted).</summary>
    public static Task BarrierAsync(this WorkerClient client)
    {
        client.Send(new ListCompletionsMethod(CompletionKind.File, "zz-barrier-nonexistent/"));
        return client.NextAsync<CompletionsEvent>();
    }

    public static int Mark(this WorkerClient client) => client.Seen.Count;

    public static List<object> Since(this WorkerClient client, int mark) => client.Seen.Skip(mark).ToList();

    /// <summary>Runs the Worker into Paused: a text block streams, then the model hangs until the pause.</summary>
    public static async Task PauseDuringTextAsync(this WorkerClient client, string input = "work")
    {
        client.Run(input);
        await client.NextAsync<TextDoneEvent>();
        client.Send(new PauseMethod());
        await client.NextAsync<RunEndEvent>(r => r.Result == RunResult.Paused);
        await client.NextAsync<StatusEvent>(s => s.Status == WorkerStatus.Paused);
    }

    public static string Kind(LogEntry e) => JsonSerializer.SerializeToElement(e, YoiJson.Options).GetProperty("kind").GetString()!;

    public static List<string> Kinds(IEnumerable<LogEntry> entries) => entries.Select(Kind).ToList();

    public static string Json(IEnumerable<LogEntry> entries) => JsonSerializer.Serialize(entries.ToList(), YoiJson.Options);

    /// <summary>The history a replay of these entries yields, as "role: text" lines (like <see cref="Requests.Lines"/>).</summary>
    public static List<string> UserInputs(IEnumerable<LogEntry> entries) =>
        entries.OfType<UserInputEntry>().Select(u => Segment.FlattenAll(u.Segments)).ToList();

    public static void AssertOrderedSubsequence(IEnumerable<object> seen, params object[] expected)
    {
        var i = 0;
        foreach (var o in seen)
            if (i < expected.Length && Equals(o, expected[i])) i++;
        Assert.True(i == expected.Length,
            $"missing {(i < expected.Length ? WorkerClient.Describe(expected[i]) : "")} (step {i}) in: " +
            string.Join(", ", seen.Select(WorkerClient.Describe)));
    }

    // ------------------------------------------------------------------ journal (SQLite)

    public sealed record JournalRow(long Seq, string Manifest, string Json);

    /// <summary>Every journal row of <c>worker|name</c>, read straight from <c>Home/yoi.db</c>.</summary>
    public static List<JournalRow> Journal(this WorkerNodeFixture node, string name)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(node.Home, "yoi.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT sequence_number, manifest, message FROM journal WHERE persistence_id = $p ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$p", "worker|" + name);
        using var reader = cmd.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read())
        {
            var message = reader.GetValue(2) switch
            {
                byte[] b => Encoding.UTF8.GetString(b),
                var v => Convert.ToString(v) ?? "",
            };
            rows.Add(new JournalRow(reader.GetInt64(0), reader.GetString(1), message));
        }
        return rows;
    }

    public static long SnapshotRows(this WorkerNodeFixture node, string name)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(node.Home, "yoi-snapshots.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = $p";
        cmd.Parameters.AddWithValue("$p", "worker|" + name);
        return (long)cmd.ExecuteScalar()!;
    }

    public static JsonElement Parse(JournalRow row) => JsonDocument.Parse(row.Json).RootElement.Clone();
}

/// <summary>Wraps a scripted model: a held call stops right after its first stream event until released (or
/// cancelled), so a test can act while a run is deterministically in flight.</summary>
public sealed class GatedModel(ScriptedModelClient inner) : IModelClient
{
    private readonly ConcurrentDictionary<int, (TaskCompletionSource Reached, TaskCompletionSource Release)> _gates = new();
    private int _calls;

    public string Provider => inner.Provider;
    public string Model => inner.Model;
    public IReadOnlyList<ModelRequest> Requests => inner.Requests;

    public GatedModel Hold(int call)
    {
        _gates.TryAdd(call, (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        return this;
    }

    public Task Reached(int call) => _gates[call].Reached.Task.WaitAsync(WorkerClient.Timeout);

    public void Release(int call) => _gates[call].Release.TrySetResult();

    public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var call = Interlocked.Increment(ref _calls) - 1;
        var gated = _gates.TryGetValue(call, out var gate);
        var first = true;
        await foreach (var e in inner.StreamAsync(request, ct).WithCancellation(ct))
        {
            yield return e;
            if (first && gated)
            {
                gate.Reached.TrySetResult();
                await gate.Release.Task.WaitAsync(ct);
            }
            first = false;
        }
    }
}

public abstract class FakeTool(string name) : ITool
{
    private static readonly JsonElement Schema = JsonDocument.Parse("""{"type":"object"}""").RootElement.Clone();
    private int _calls;

    public string Name => name;
    public bool ReadOnly { get; init; }
    public string Description => "test tool " + name;
    public JsonElement InputSchema => Schema;
    public int Calls => _calls;

    public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        return Run(input, ct);
    }

    protected abstract Task<ToolOutput> Run(JsonElement input, CancellationToken ct);
}

/// <summary>Blocks until released or cancelled; <see cref="Started"/> completes when an execution begins and
/// <see cref="Cancelled"/> when one observed its cancellation.</summary>
public sealed class GateTool(string name = "gate") : FakeTool(name)
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Started => _started.Task.WaitAsync(WorkerClient.Timeout);
    public Task Cancelled => _cancelled.Task;
    public void Release() => _release.TrySetResult();

    protected override async Task<ToolOutput> Run(JsonElement input, CancellationToken ct)
    {
        _started.TrySetResult();
        try
        {
            await _release.Task.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            _cancelled.TrySetResult();
            throw;
        }
        return new ToolOutput("released");
    }
}

public sealed class EchoTool(string name = "echo") : FakeTool(name)
{
    protected override Task<ToolOutput> Run(JsonElement input, CancellationToken ct) =>
        Task.FromResult(new ToolOutput("echo " + input.GetRawText()));
}

/// <summary>Returns a summary and one PNG image attachment.</summary>
public sealed class ImageTool(string name = "image") : FakeTool(name)
{
    public static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0xFF, 0x00, 0x7F];

    protected override Task<ToolOutput> Run(JsonElement input, CancellationToken ct) =>
        Task.FromResult(new ToolOutput("captured screenshot", "pixels follow",
            [new ImageAttachment("image/png", Convert.ToBase64String(Png))]));
}
