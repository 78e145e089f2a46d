// The Microsoft Agent Framework part of bench/run-side-by-side.sh: the same workload as Yoi's part —
// a zero-latency model stub answering each user turn with one tool call, then (after the tool result) text;
// the tool returns at once; durable state after every turn: the AgentSession serialized (agent.SerializeSessionAsync)
// and upserted into SQLite (WAL) after each turn. Prints one JSON object with the same keys as the other parts.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Agents.AI;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;

string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var quick = args.Contains("--quick");
var latencyTurns = int.Parse(Arg("--latency-turns") ?? (quick ? "100" : "300"));
var throughputPlan = (Arg("--throughput") ?? (quick ? "1:50,100:2,1000:1" : "1:200,100:5,1000:2")).Split(',')
    .Select(p => p.Split(':')).Select(p => (Agents: int.Parse(p[0]), Turns: int.Parse(p[1]))).ToArray();
var recoveryTurns = int.Parse(Arg("--recovery-turns") ?? (quick ? "300" : "1400"));
var recoverySamples = int.Parse(Arg("--recovery-samples") ?? "5");
// Recoveries before the timed ones (the read path tiers up, as every part warms its turn path): 10 in every part.
var recoveryWarmUp = int.Parse(Arg("--recovery-warm-up") ?? "10");
var windows = (Arg("--windows") ?? (quick ? "0,100,200" : "0,500,1000")).Split(',').Select(int.Parse).ToArray();
var windowSize = int.Parse(Arg("--window-size") ?? (quick ? "50" : "100"));
var outFile = Arg("--out");
var warmUpTurns = int.Parse(Arg("--warm-up") ?? (quick ? "1000" : "3000"));
var sync = (Arg("--sync") ?? "normal").ToUpperInvariant();

var root = Path.Combine(Path.GetTempPath(), "af-sbs-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
try
{
    var store = new SessionStore(Path.Combine(root, "sessions.db"), sync);
    var agent = new ChatClientAgent(new PingPongChatClient(), instructions: null, name: "bench",
        tools: [AIFunctionFactory.Create((string text) => "echo: " + text, "Echo", "Echoes its input")]);

    // Each turn streams (RunStreamingAsync) and every update is serialized to JSON for a consumer, as Yoi streams
    // every event to its attached client as the protocol's JSON: equal streaming work (issue 20, item 3).
    long streamedBytes = 0;
    async Task TurnAsync(string id, AgentSession session, string text)
    {
        var answer = new System.Text.StringBuilder();
        await foreach (var update in agent.RunStreamingAsync(text, session))
        {
            Interlocked.Add(ref streamedBytes, JsonSerializer.SerializeToUtf8Bytes(update, AgentAbstractionsJsonUtilities.DefaultOptions).Length);
            answer.Append(update.Text);
        }
        if (answer.ToString() != "done") throw new InvalidOperationException("unexpected answer: " + answer);
        store.Save(id, await agent.SerializeSessionAsync(session));
    }

    var result = new JsonObject
    {
        ["runtime"] = "Microsoft Agent Framework",
        ["version"] = $"Microsoft.Agents.AI {typeof(ChatClientAgent).Assembly.GetName().Version} / .NET {Environment.Version}",
        ["durability"] = $"ChatClientAgent session serialized after each turn, upserted as one row into SQLite (WAL, synchronous={sync})",
        ["streaming"] = "RunStreamingAsync; every AgentResponseUpdate serialized to JSON (AgentAbstractionsJsonUtilities.DefaultOptions)",
    };

    // JIT warm-up, the same plan in every part: fresh sessions of 50 turns, 200 ms idle after each (tiered
    // compilation defers tier-1 work while new code keeps being jitted), until --warm-up turns or 30 s.
    var warmClock = Stopwatch.StartNew();
    var warmDone = 0;
    while (warmDone < warmUpTurns && warmClock.Elapsed < TimeSpan.FromSeconds(30))
    {
        var warm = await agent.CreateSessionAsync();
        for (var i = 0; i < 50 && warmDone < warmUpTurns; i++, warmDone++) await TurnAsync("warm-up-" + warmDone / 50, warm, "warm-up " + i);
        await Task.Delay(200);
    }
    result["warm_up_turns"] = warmDone;

    // Per-turn overhead: one agent, turns one after another.
    var latSession = await agent.CreateSessionAsync();
    for (var i = 0; i < 20; i++) await TurnAsync("latency", latSession, "warm-up " + i);
    var times = new double[latencyTurns];
    var streamedBefore = Interlocked.Read(ref streamedBytes);
    for (var i = 0; i < times.Length; i++)
    {
        var sw = Stopwatch.StartNew();
        await TurnAsync("latency", latSession, "turn " + i);
        times[i] = sw.Elapsed.TotalMilliseconds;
    }
    result["per_turn"] = Percentiles(times);
    result["streamed_json_bytes_per_turn"] = (double)(Interlocked.Read(ref streamedBytes) - streamedBefore) / times.Length;

    // Throughput with A agents at once; memory of the largest batch once idle (sessions kept in memory).
    var throughput = new JsonArray();
    var keep = new List<AgentSession[]>();
    foreach (var (agents, turns) in throughputPlan)
    {
        var largest = agents == throughputPlan.Max(t => t.Agents);
        var before = largest ? Memory() : default;
        var sessions = new AgentSession[agents];
        for (var i = 0; i < agents; i++) sessions[i] = await agent.CreateSessionAsync();
        await Task.WhenAll(sessions.Select((s, i) => Task.Run(() => TurnAsync($"tp{agents}-{i}", s, "warm-up"))));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(sessions.Select((s, i) => Task.Run(async () =>
        {
            for (var t = 0; t < turns; t++) await TurnAsync($"tp{agents}-{i}", s, "turn " + t);
        })));
        var secs = sw.Elapsed.TotalSeconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        throughput.Add(new JsonObject
        {
            ["agents"] = agents, ["turns_per_agent"] = turns, ["seconds"] = secs, ["turns_per_s"] = agents * turns / secs,
            ["cpu_ms_per_turn"] = cpuMs / (agents * turns),
        });
        keep.Add(sessions);
        if (largest)
        {
            await Task.Delay(500);
            var after = Memory();
            result["memory"] = new JsonObject
            {
                ["agents"] = agents,
                ["turns_each"] = turns + 1,
                ["rss_bytes_per_agent"] = (after.Rss - before.Rss) / agents,
                ["heap_bytes_per_agent"] = (after.Heap - before.Heap) / agents,
                ["note"] = "one AgentSession (in-memory chat history) per agent, one shared ChatClientAgent",
            };
        }
    }
    result["throughput"] = throughput;
    GC.KeepAlive(keep);

    // Stored bytes per turn as history grows, on the session later used for recovery.
    var bigSession = await agent.CreateSessionAsync();
    var windowRows = new JsonArray();
    long written = 0, windowStart = 0;
    store.OnWrite = n => written += n;
    var lastWindowEnd = windows.Max() + windowSize;
    var totalTurns = Math.Max(recoveryTurns, lastWindowEnd);
    var windowTimes = new List<double>();
    for (var t = 0; t < totalTurns; t++)
    {
        if (windows.Contains(t)) (windowStart, windowTimes) = (written, []);
        var sw = Stopwatch.StartNew();
        await TurnAsync("big", bigSession, "fill " + t);
        windowTimes.Add(sw.Elapsed.TotalMilliseconds);
        if (windows.Contains(t + 1 - windowSize))
            windowRows.Add(new JsonObject
            {
                ["history_turns"] = t + 1 - windowSize,
                ["bytes_per_turn"] = (double)(written - windowStart) / windowSize,
                ["median_ms"] = Percentiles(windowTimes.TakeLast(windowSize).ToArray())["median_ms"]!.GetValue<double>(),
            });
    }
    store.OnWrite = null;
    result["bytes_per_turn"] = windowRows;
    result["bytes_note"] = "serialized session bytes written per turn (the row is overwritten: the file stays ~one snapshot, but each turn rewrites all of it)";

    // Recovery: a fresh connection reads the row and the agent deserializes the session (the process is warm).
    var recover = async () =>
    {
        var reader = new SessionStore(store.File);
        var json = reader.Load("big");
        var session = await agent.DeserializeSessionAsync(json);
        return session;
    };
    for (var i = 0; i < recoveryWarmUp; i++) await recover();
    var samples = new List<double>();
    var messages = 0;
    for (var i = 0; i < recoverySamples; i++)
    {
        var sw = Stopwatch.StartNew();
        var session = await recover();
        samples.Add(sw.Elapsed.TotalMilliseconds);
        messages = session.TryGetInMemoryChatHistory(out var list) && list is not null ? list.Count : -1;
    }
    samples.Sort();
    result["recovery"] = new JsonObject
    {
        ["turns"] = totalTurns,
        ["entries"] = messages,
        ["entry_unit"] = "chat messages",
        ["median_ms"] = samples[samples.Count / 2],
        ["note"] = $"read the row on a fresh connection + agent.DeserializeSessionAsync; warm process, after {recoveryWarmUp} warm-up recoveries",
    };

    var text = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    if (outFile is null) Console.WriteLine(text);
    else File.WriteAllText(outFile, text);
}
finally
{
    SqliteConnection.ClearAllPools();
    try { Directory.Delete(root, true); } catch (IOException) { }
}
return 0;

static JsonObject Percentiles(double[] times)
{
    var sorted = times.Order().ToArray();
    return new JsonObject
    {
        ["turns"] = sorted.Length,
        ["median_ms"] = sorted[sorted.Length / 2],
        ["p99_ms"] = sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))],
    };
}

static (long Rss, long Heap) Memory()
{
    for (var i = 0; i < 3; i++)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, true, true);
        GC.WaitForPendingFinalizers();
    }
    var heap = GC.GetTotalMemory(true);
    using var p = Process.GetCurrentProcess();
    p.Refresh();
    return (p.WorkingSet64, heap);
}

/// <summary>A zero-latency model: the user's turn gets one Echo tool call, anything after the tool result gets text.</summary>
sealed class PingPongChatClient : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        var last = list[^1];
        ChatMessage answer = last.Role == ChatRole.User
            ? new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c" + list.Count, "Echo", new Dictionary<string, object?> { ["text"] = "ping" })])
            : new ChatMessage(ChatRole.Assistant, "done");
        return Task.FromResult(new ChatResponse(answer)
        {
            FinishReason = last.Role == ChatRole.User ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = last.Role == ChatRole.User ? 100 : 120, OutputTokenCount = last.Role == ChatRole.User ? 10 : 2 },
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var u in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates()) yield return u;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;
    public void Dispose() { }
}

/// <summary>One row per session, overwritten after every turn (snapshot-per-turn).</summary>
sealed class SessionStore
{
    public string File { get; }
    public Action<long>? OnWrite { get; set; }

    private readonly string _sync;

    public SessionStore(string file, string sync = "NORMAL")
    {
        File = file;
        _sync = sync;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state BLOB NOT NULL)";
        cmd.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection($"Data Source={File};Pooling=True;Default Timeout=60");
        c.Open();
        using var pragma = c.CreateCommand();
        pragma.CommandText = $"PRAGMA synchronous={_sync}"; // per connection: the same durability as the other parts
        pragma.ExecuteNonQuery();
        return c;
    }

    public void Save(string id, JsonElement state)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state);
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO sessions (id, state) VALUES ($id, $s) ON CONFLICT(id) DO UPDATE SET state = excluded.state";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$s", bytes);
        cmd.ExecuteNonQuery();
        OnWrite?.Invoke(bytes.Length);
    }

    public JsonElement Load(string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT state FROM sessions WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        var bytes = (byte[])cmd.ExecuteScalar()!;
        return JsonDocument.Parse(bytes).RootElement;
    }
}
