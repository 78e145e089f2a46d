using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Xunit;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Engine;

/// <summary>Records everything the engine hands to its owner.</summary>
internal sealed class FakeHost : ITurnHost
{
    private readonly object _gate = new();
    private readonly List<HistoryItem> _commits = [];
    private readonly List<Event> _events = [];
    private readonly List<string> _warnings = [];

    /// <summary>Return an exception to reject the commit of an item.</summary>
    public Func<HistoryItem, Exception?>? Reject { get; set; }

    /// <summary>Items returned by the next DrainPendingAsync calls (one list per call).</summary>
    public Queue<IReadOnlyList<HistoryItem>> Pending { get; } = new();

    public Exception? DrainFailure { get; set; }

    /// <summary>Called for every published event (from the engine's task).</summary>
    public Action<Event>? OnPublish { get; set; }

    public int DrainCalls { get; private set; }

    public IReadOnlyList<HistoryItem> Commits { get { lock (_gate) return _commits.ToArray(); } }
    public IReadOnlyList<Event> Events { get { lock (_gate) return _events.ToArray(); } }
    public IReadOnlyList<string> Warnings { get { lock (_gate) return _warnings.ToArray(); } }

    public IReadOnlyList<T> Of<T>() where T : Event => Events.OfType<T>().ToArray();

    public Task CommitAsync(HistoryItem item, CancellationToken ct)
    {
        if (Reject?.Invoke(item) is { } ex) throw ex;
        lock (_gate) _commits.Add(item);
        return Task.CompletedTask;
    }

    /// <summary>Barriers, recorded as the number of items committed when each was reached.</summary>
    public IReadOnlyList<int> Barriers { get { lock (_gate) return _barriers.ToArray(); } }
    private readonly List<int> _barriers = [];

    /// <summary>Set to make every durability barrier fail.</summary>
    public Exception? BarrierFailure { get; set; }

    public Task DurableAsync(CancellationToken ct)
    {
        if (BarrierFailure is { } f) throw f;
        lock (_gate) _barriers.Add(_commits.Count);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct)
    {
        DrainCalls++;
        if (DrainFailure is { } f) throw f;
        IReadOnlyList<HistoryItem> items = Pending.Count > 0 ? Pending.Dequeue() : [];
        lock (_gate) _commits.AddRange(items); // the host commits drained items itself
        return Task.FromResult(items);
    }

    public void Publish(Event e)
    {
        lock (_gate) _events.Add(e);
        OnPublish?.Invoke(e);
    }

    public void Warn(string message)
    {
        lock (_gate) _warnings.Add(message);
    }
}

/// <summary>A tool whose behaviour is a delegate; records every call.</summary>
internal sealed class FakeTool(string name, Func<JsonElement, ToolCallContext, CancellationToken, Task<ToolOutput>>? run = null) : ITool
{
    public bool ReadOnly { get; init; }

    private static readonly JsonElement Schema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    public ConcurrentQueue<(string Input, ToolCallContext Context)> Calls { get; } = new();

    public string Name { get; } = name;
    public string Description => $"the {Name} tool";
    public JsonElement InputSchema => Schema;

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        Calls.Enqueue((ToolArguments.Canonical(input), context));
        return run is null ? new ToolOutput($"{Name} ok") : await run(input, context, ct);
    }

    public static FakeTool Returning(string name, ToolOutput output) => new(name, (_, _, _) => Task.FromResult(output));

    public static FakeTool Throwing(string name, Exception ex) => new(name, (_, _, _) => Task.FromException<ToolOutput>(ex));
}

/// <summary>A model that replays a list of per-call actions and records requests; for cases the scripted model
/// does not express (open hangs, transport exceptions at open).</summary>
internal sealed class StubModel(params Func<ModelRequest, CancellationToken, IAsyncEnumerable<StreamEvent>>[] calls) : IModelClient
{
    private int _next;
    private int _opens;
    public List<ModelRequest> Requests { get; } = [];
    public Func<ModelRequest, CancellationToken, ValueTask<IAsyncEnumerator<StreamEvent>>>? Open { get; init; }
    public string Provider => "stub";
    public string Model => "stub-1";

    public IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, CancellationToken ct)
    {
        Requests.Add(request);
        return calls[Math.Min(_next++, calls.Length - 1)](request, ct);
    }

    public ValueTask<IAsyncEnumerator<StreamEvent>> OpenAsync(ModelRequest request, CancellationToken ct) =>
        Open is { } open && _opens++ == 0 ? open(request, ct) : ValueTask.FromResult(StreamAsync(request, ct).GetAsyncEnumerator(ct));

    public static async IAsyncEnumerable<StreamEvent> Events(IEnumerable<StreamEvent> events, Exception? thenThrow = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.Yield();
        foreach (var e in events)
        {
            ct.ThrowIfCancellationRequested();
            yield return e;
        }
        if (thenThrow is not null) throw thenThrow;
    }
}

internal static class Kit
{
    public static readonly RetryPolicy FastRetry = new(TimeSpan.Zero, TimeSpan.Zero, 4, TimeSpan.FromSeconds(40));

    public static EngineSettings Settings(int? maxTurns = null, RetryPolicy? retry = null, ToolOutputLimits? limits = null,
        TimeSpan? openTimeout = null, TimeSpan? firstEventTimeout = null) =>
        new("You are a test.", RequestConfig.Default, maxTurns, limits, retry ?? FastRetry, openTimeout, firstEventTimeout, "cache-key");

    public static MessageItem User(string text) => MessageItem.Text(Role.User, text);

    public static ScriptedModelClient Script(params ScriptedResponse[] responses) => new(responses);

    public static ScriptedResponse R(params ScriptItem[] items) => new(items);

    public static ScriptText Text(params string[] deltas) => new(deltas);

    public static ScriptToolCall Call(string id, string name, string args = "{}") => new(id, name, args);

    public static ScriptEvent Ev(StreamEvent e) => new(e);

    public static TurnEngine NewEngine(IModelClient model, FakeHost host, EngineState? state = null, EngineSettings? settings = null,
        ITurnInterceptor? interceptor = null, params ITool[] tools) =>
        new(model, tools, settings ?? Settings(), host, state ?? new EngineState(), interceptor);

    public static string TextOf(HistoryItem item) => item switch
    {
        MessageItem m => $"{m.Role}:{m.PlainText}",
        ToolCallItem c => $"call:{c.CallId}:{c.Name}:{c.Arguments}",
        ToolResultItem r => $"result:{r.CallId}:{r.Summary}{(r.IsError ? ":error" : "")}",
        ReasoningItem r => $"reasoning:{r.Text}:{r.Signature}",
        _ => item.ToString()!,
    };

    public static string[] Texts(IEnumerable<HistoryItem> items) => items.Select(TextOf).ToArray();
}

/// <summary>An interceptor assembled from delegates.</summary>
internal sealed class LambdaInterceptor : ITurnInterceptor
{
    public Func<PreLlmContext, PreLlmDecision>? PreLlm { get; init; }
    public Func<ToolCallInfo, PreToolDecision>? PreTool { get; set; }
    public Func<ToolCallInfo, ToolResultItem, PostToolDecision>? PostTool { get; init; }
    public Func<IReadOnlyList<HistoryItem>, TurnEndDecision>? TurnEnd { get; init; }
    public List<string> Aborts { get; } = [];

    public ValueTask<PreLlmDecision> PreLlmRequest(PreLlmContext context) =>
        ValueTask.FromResult(PreLlm?.Invoke(context) ?? PreLlmDecision.Continue);

    public ValueTask<PreToolDecision> PreToolCall(ToolCallInfo call) =>
        ValueTask.FromResult(PreTool?.Invoke(call) ?? PreToolDecision.Continue);

    public ValueTask<PostToolDecision> PostToolCall(ToolCallInfo call, ToolResultItem result) =>
        ValueTask.FromResult(PostTool?.Invoke(call, result) ?? PostToolDecision.Continue);

    public ValueTask<TurnEndDecision> OnTurnEnd(IReadOnlyList<HistoryItem> history) =>
        ValueTask.FromResult(TurnEnd?.Invoke(history) ?? TurnEndDecision.Finish);

    public void OnAbort(string reason) => Aborts.Add(reason);
}
