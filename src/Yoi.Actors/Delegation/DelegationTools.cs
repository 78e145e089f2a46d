using System.Text;
using System.Text.Json;
using Akka.Actor;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>The delegation tools (reference-delegation §1, §2), registered when `[feature.workers] enabled = true`.
/// Each parses its input into a typed <see cref="DelegationRequest"/> and asks its Worker actor (with a timeout);
/// SendToWorker and ReadWorkerOutput then talk to the child as a client does.</summary>
public static class DelegationTools
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    public const string SpawnWorker = "SpawnWorker";
    public const string SendToWorker = "SendToWorker";
    public const string ReadWorkerOutput = "ReadWorkerOutput";
    public const string StopWorker = "StopWorker";
    public const string ListWorkers = "ListWorkers";
    public const string RestoreWorker = "RestoreWorker";
    public const string SendToPeerWorker = "SendToPeerWorker";

    /// <summary>The tools of Worker <paramref name="spawner"/>, whose actor is <paramref name="worker"/>.</summary>
    public static IReadOnlyList<ITool> Create(IActorRef worker, ActorSystem system, WorkerName spawner) =>
    [
        new Tool(worker, spawner, SpawnWorker,
            "Spawn a child Worker with a task and a delegated filesystem scope (a subset of your delegation scope). Write scope you delegate is read-only for you until the child stops.",
            """{"type":"object","properties":{"name":{"type":"string"},"task":{"type":"string"},"scope":{"type":"array","items":{"type":"object","properties":{"target":{"type":"string"},"permission":{"type":"string","enum":["read","write"]},"recursive":{"type":"boolean"}},"required":["target","permission"]}},"profile":{"type":"string"},"instruction":{"type":"string"},"cwd":{"type":"string"}},"required":["name","task","scope"]}"""),
        new SendTool(worker, spawner, system),
        new ReadOutputTool(worker, spawner, system),
        new Tool(worker, spawner, StopWorker, "Stop a spawned child Worker and reclaim its delegated scope.",
            """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"""),
        new Tool(worker, spawner, ListWorkers, "List the Workers visible to you: yourself, your spawned children and your peers.",
            """{"type":"object","properties":{},"additionalProperties":false}"""),
        new Tool(worker, spawner, RestoreWorker, "Restore a visible Worker from its durable state.",
            """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"""),
        new Tool(worker, spawner, SendToPeerWorker, "Send a message to a peer Worker (it arrives as a notification).",
            """{"type":"object","properties":{"name":{"type":"string"},"message":{"type":"string"}},"required":["name","message"]}"""),
    ];

    internal static async Task<DelegationToolReply> AskWorker(IActorRef worker, string tool, DelegationRequest request, CancellationToken ct)
    {
        try
        {
            return await worker.Ask<DelegationToolReply>(request with { TraceParent = Telemetry.YoiTelemetry.CurrentTraceParent() }, AskTimeout, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new ToolException(ToolErrorKind.ExecutionFailed, $"{tool}: the Worker did not answer within {AskTimeout.TotalSeconds:0}s");
        }
    }

    internal static ToolOutput Result(DelegationToolReply r) =>
        r.ErrorKind is { } kind ? throw new ToolException(kind, r.Error ?? "") : new ToolOutput(r.Summary, r.Content);

    private class Tool(IActorRef worker, WorkerName spawner, string name, string description, string schema) : ITool
    {
        public string Name => name;
        public string Description => description;
        public JsonElement InputSchema { get; } = JsonDocument.Parse(schema).RootElement.Clone();

        protected async Task<ToolOutput> AskAsync(JsonElement input, CancellationToken ct) =>
            Result(await AskWorker(worker, name, DelegationRequest.Parse(name, input, spawner), ct));

        public virtual Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct) => AskAsync(input, ct);
    }

    /// <summary>SendToWorker {name, message}: run-and-confirm against the child (§2.2); does not wait for its turn.</summary>
    private sealed class SendTool(IActorRef worker, WorkerName spawner, ActorSystem system) : Tool(worker, spawner, SendToWorker,
        "Send a message to a spawned child Worker: it starts a turn with it. Does not wait for the turn to finish.",
        """{"type":"object","properties":{"name":{"type":"string"},"message":{"type":"string"}},"required":["name","message"]}""")
    {
        public override async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
        {
            var resolved = await AskAsync(input, ct); // validates the name
            var child = resolved.Content!;
            var name = input.GetProperty("name").GetString()!;
            var message = input.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
            var (probe, snapshot) = await ChildProbe.AttachAsync(system, child, ct);
            await using (probe)
            {
                if (snapshot is null) throw new ToolException(ToolErrorKind.ExecutionFailed, $"send to `{name}`: worker is not reachable");
                probe.Send(new RunMethod([new TextSegment(message)]));
                var reply = await probe.NextAsync(o => o is UserMessageEvent or TurnStartEvent or InvokeStartEvent { Kind: InvokeKind.UserSend } or ErrorEvent, ct);
                return reply switch
                {
                    null => throw new ToolException(ToolErrorKind.ExecutionFailed, $"send to `{name}`: timed out waiting for the run to be accepted"),
                    ErrorEvent { Code: ErrorCode.AlreadyRunning } => throw new ToolException(ToolErrorKind.ExecutionFailed,
                        $"worker `{name}` is already running a turn; wait for it to finish and retry"),
                    ErrorEvent e => throw new ToolException(ToolErrorKind.ExecutionFailed,
                        $"worker `{name}` rejected the run with {JsonNamingPolicy.SnakeCaseLower.ConvertName(e.Code.ToString())}: {e.Message}"),
                    _ => new ToolOutput($"sent message to `{name}`"),
                };
            }
        }
    }

    /// <summary>ReadWorkerOutput {name}: new assistant text since the last read (§2.3). Cursors live in this tool
    /// (never persisted, as in the reference).</summary>
    private sealed class ReadOutputTool(IActorRef worker, WorkerName spawner, ActorSystem system) : Tool(worker, spawner, ReadWorkerOutput,
        "Read new assistant text written by a spawned child Worker since your last read.",
        """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}""")
    {
        private readonly Dictionary<string, int> _cursors = [];

        public override async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
        {
            var resolved = await AskAsync(input, ct);
            var child = resolved.Content!;
            var name = input.GetProperty("name").GetString()!;
            var (probe, snapshot) = await ChildProbe.AttachAsync(system, child, ct);
            await using (probe)
            {
                if (snapshot is null) return new ToolOutput($"worker `{name}` is stopped (unreachable)");
                var entries = snapshot.Entries;
                int cursor;
                lock (_cursors) cursor = _cursors.GetValueOrDefault(child);
                var parts = new List<string>();
                for (var i = cursor; i < entries.Count; i++)
                    switch (entries[i])
                    {
                        case AssistantItemEntry { Item: MessageItem { Role: Role.Assistant } msg }:
                            parts.AddRange(msg.Content.OfType<TextPart>().Select(t => t.Text).Where(t => t.Length > 0));
                            break;
                        case SegmentStartEntry s when i > 0 || s.History.Count > 0:
                            foreach (var h in s.History.OfType<MessageItem>().Where(h => h.Role == Role.Assistant))
                                parts.AddRange(h.Content.OfType<TextPart>().Select(t => t.Text).Where(t => t.Length > 0));
                            break;
                    }
                lock (_cursors) _cursors[child] = Math.Max(cursor, entries.Count);
                var text = string.Join("\n\n", parts);
                if (text.Length == 0) return new ToolOutput($"worker `{name}` running; no new assistant text");
                var lines = text.Split('\n').Length;
                return new ToolOutput($"worker `{name}`: {lines} new line(s) of assistant text", text);
            }
        }
    }
}
