using System.Net.Http;
using System.Text;
using Yoi.Messages;

namespace Yoi.Actors.Engine;

/// <summary>The provider-independent turn loop (reference-engine §1.3–§1.8, retry policy §2). No actor types:
/// the owner supplies an <see cref="ITurnHost"/> (history gate, notify drain, event sink) and the
/// <see cref="EngineState"/> it restored from the journal.
/// <para>One engine instance serves one run at a time. <see cref="RunAsync"/> never throws for run failures:
/// the outcome carries a result or an <see cref="EngineError"/>.</para>
/// <para>Deviations from the reference (README "Where we go beyond"): a <see cref="BlockStop"/> closes the open
/// block with its index whatever its type and open blocks are completed at normal stream end; nothing from a
/// cancelled or errored stream is ever committed later; <c>max_turns</c> counts AgentTurns of the current run.</para>
/// <para>Commits go through <see cref="ITurnHost.CommitAsync"/> with <see cref="CancellationToken.None"/>: a
/// commit that has started is allowed to finish so that history and journal never disagree.</para></summary>
public sealed class TurnEngine
{
    public const int MaxStreamContinuations = 3;

    private readonly IModelClient _model;
    private readonly Dictionary<string, ITool> _tools;
    private readonly IReadOnlyList<ToolDefinition> _toolDefinitions;
    private readonly EngineSettings _settings;
    private readonly ITurnHost _host;
    private readonly EngineState _state;
    private readonly ITurnInterceptor _interceptor;

    /// <param name="tools">Registered tools; a duplicate name is a programming error (<see cref="ArgumentException"/>).</param>
    public TurnEngine(IModelClient model, IReadOnlyList<ITool> tools, EngineSettings settings, ITurnHost host, EngineState state,
        ITurnInterceptor? interceptor = null)
    {
        _model = model;
        _settings = settings;
        _host = host;
        _state = state;
        _interceptor = interceptor ?? DefaultTurnInterceptor.Instance;
        _tools = new Dictionary<string, ITool>(StringComparer.Ordinal);
        foreach (var tool in tools)
            if (!_tools.TryAdd(tool.Name, tool))
                throw new ArgumentException($"duplicate tool name '{tool.Name}'", nameof(tools));
        _toolDefinitions = tools.OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => new ToolDefinition(t.Name, t.Description, t.InputSchema)).ToArray();
    }

    /// <summary>Clock for retry elapsed time and the open / first-event timeouts.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Uniform random source in [0, 1) for retry jitter.</summary>
    public Func<double> NextRandom { get; init; } = Random.Shared.NextDouble;

    /// <summary>Back-off sleep (must honour the token). Default: <c>Task.Delay(wait, TimeProvider, ct)</c>.</summary>
    public Func<TimeSpan, CancellationToken, Task>? Delay { get; init; }

    public EngineState State => _state;

    /// <summary>Tool definitions as sent with every request: sorted by name (ordinal).</summary>
    public IReadOnlyList<ToolDefinition> ToolDefinitions => _toolDefinitions;

    /// <summary><paramref name="userMessage"/> non-null = run: the owner has already persisted it; it is appended to
    /// history without a commit. Null = resume. Pending (unanswered) tool calls are executed first in both cases.</summary>
    public async Task<EngineOutcome> RunAsync(MessageItem? userMessage, CancellationToken ct)
    {
        var run = new RunContext();
        _state.LastRunInterrupted = false;
        EngineError error;
        try
        {
            if (userMessage is not null) _state.History.Add(userMessage);
            var result = await LoopAsync(run, ct).ConfigureAwait(false);
            _state.LastRunInterrupted = result is EngineResult.Paused or EngineResult.Yielded;
            return new EngineOutcome(result, null, run.Usage);
        }
        catch (EngineFailure f)
        {
            error = f.Error;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            error = EngineError.Cancelled;
        }
        catch (Exception ex)
        {
            error = new EngineError(EngineErrorKind.Internal, ex.Message);
        }

        _state.LastRunInterrupted = true;
        try
        {
            _interceptor.OnAbort(error.Kind == EngineErrorKind.Aborted ? error.Message : error.Display);
        }
        catch
        {
            // an observer failing must not turn an error outcome into a throw
        }
        return new EngineOutcome(null, error, run.Usage);
    }

    private sealed class RunContext
    {
        public List<LlmUsageEntry> Usage { get; } = [];
        public int Turns { get; set; }
    }

    private sealed class EngineFailure(EngineError error) : Exception(error.Display)
    {
        public EngineError Error { get; } = error;
    }

    private static EngineFailure Fail(EngineErrorKind kind, string message, int? status = null) =>
        new(new EngineError(kind, message) { Status = status });

    private void Publish(Event e) => _host.Publish(e);

    // ---------------------------------------------------------------- loop (§1.3)

    private async Task<EngineResult> LoopAsync(RunContext run, CancellationToken ct)
    {
        var pending = PendingToolCalls();
        if (pending.Count > 0 && await ExecuteBatchAsync(pending, ct).ConfigureAwait(false))
            return EngineResult.Paused;

        var continuations = 0;
        var isContinuation = false;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var turn = _state.TurnCount;
            if (!isContinuation) Publish(new TurnStartEvent(turn));

            IReadOnlyList<HistoryItem> drained;
            try
            {
                drained = await _host.DrainPendingAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                throw Fail(EngineErrorKind.HistoryAppend, ex.Message);
            }
            _state.History.AddRange(drained);

            // No copy of history per call: the context copies only if a hook asks for the mutable Items.
            var context = new PreLlmContext(new HistoryPrefix(_state.History), turn, _state.LlmCallCount, isContinuation);
            var decision = await _interceptor.PreLlmRequest(context).ConfigureAwait(false);
            switch (decision.Action)
            {
                case PreLlmAction.Cancel:
                    Publish(new TurnEndEvent(turn));
                    throw Fail(EngineErrorKind.Aborted, decision.Reason ?? "");
                case PreLlmAction.Yield:
                    Publish(new TurnEndEvent(turn));
                    return EngineResult.Yielded;
                case PreLlmAction.YieldWith:
                    foreach (var item in decision.Items ?? []) await CommitAsync(item).ConfigureAwait(false);
                    Publish(new TurnEndEvent(turn));
                    return EngineResult.Yielded;
                case PreLlmAction.ContinueWith:
                    foreach (var item in decision.Items ?? [])
                    {
                        await CommitAsync(item).ConfigureAwait(false);
                        context.Items.Add(item);
                    }
                    break;
            }

            var llmCall = _state.LlmCallCount;
            Publish(new LlmCallStartEvent(llmCall));
            var request = new ModelRequest(_settings.SystemPrompt, context.View, _toolDefinitions,
                _settings.Config, null, _settings.CacheKey);
            StreamResult streamed;
            try
            {
                streamed = await StreamAsync(request, llmCall, run, ct).ConfigureAwait(false);
            }
            finally
            {
                _state.LlmCallCount++; // interrupted, errored or cancelled alike
            }
            Publish(new LlmCallEndEvent(llmCall));

            if (streamed.InterruptReason is { } reason)
            {
                continuations++;
                if (continuations > MaxStreamContinuations)
                    throw Fail(EngineErrorKind.Client, "LLM stream interrupted too many times: " + reason);
                foreach (var item in streamed.Output.AssistantItems(includeToolCalls: false))
                    await CommitAsync(item).ConfigureAwait(false);
                Publish(new LlmContinuationEvent(llmCall, (uint)continuations, MaxStreamContinuations, reason));
                isContinuation = true;
                continue;
            }

            continuations = 0;
            isContinuation = false;
            Publish(new TurnEndEvent(turn));
            _state.TurnCount++;
            run.Turns++;

            foreach (var item in streamed.Output.AssistantItems(includeToolCalls: true))
                await CommitAsync(item).ConfigureAwait(false);
            WarnIfTruncated(streamed.Output, request.Config);

            var calls = streamed.Output.ToolCalls;
            if (calls.Count == 0)
            {
                var end = await _interceptor.OnTurnEnd(_state.History.AsReadOnly()).ConfigureAwait(false);
                switch (end.Action)
                {
                    case TurnEndAction.Pause:
                        return EngineResult.Paused;
                    case TurnEndAction.ContinueWithMessages:
                        foreach (var item in end.Items ?? []) await CommitAsync(item).ConfigureAwait(false);
                        continue; // a new AgentTurn; max_turns is not checked on this path
                    default:
                        return EngineResult.Finished;
                }
            }

            if (await ExecuteBatchAsync(calls, ct).ConfigureAwait(false)) return EngineResult.Paused;
            if (_settings.MaxTurns is { } max && run.Turns >= max) return EngineResult.LimitReached;
        }
    }

    /// <summary>Deviation (spec README item 10): a response stopped by the token limit (or a content filter) keeps the
    /// reference's control flow — it is committed as it came — but is no longer silent: a <c>warn</c> alert names
    /// the limit and the provider's stop reason (which is also kept on the committed item).</summary>
    private void WarnIfTruncated(StreamAssembler output, RequestConfig config)
    {
        var said = output.ProviderStopReason is { } p ? $"stop reason \"{p}\"" : "stop reason \"max_tokens\"";
        switch (output.StopReason)
        {
            case StopReason.MaxTokens:
                var limit = _model.MaxOutputTokens(config) is { } n ? $"max_tokens = {n}" : "the provider's default max_tokens";
                _host.Warn($"The model's response was cut off by the output token limit ({limit}; {said}). " +
                           "It was kept as it is; raise [engine] max_tokens if answers are cut short.");
                break;
            case StopReason.ContentFilter:
                _host.Warn($"The model's response was stopped by the provider's content filter (stop reason \"{output.ProviderStopReason ?? "content_filter"}\"). It was kept as it is.");
                break;
        }
    }

    /// <summary>History gate: the item joins history once the host took it (durable by the next barrier).</summary>
    private async Task CommitAsync(HistoryItem item)
    {
        try
        {
            await _host.CommitAsync(item, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(EngineErrorKind.HistoryAppend, ex.Message);
        }
        _state.History.Add(item);
    }

    private List<ToolCallItem> PendingToolCalls()
    {
        var answered = _state.History.OfType<ToolResultItem>().Select(r => r.CallId).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return _state.History.OfType<ToolCallItem>()
            .Where(c => !answered.Contains(c.CallId) && seen.Add(c.CallId))
            .ToList();
    }

    // ---------------------------------------------------------------- one LLM call (§1.4, §2)

    private sealed record StreamResult(StreamAssembler Output, string? InterruptReason);

    private async Task<StreamResult> StreamAsync(ModelRequest request, ulong llmCall, RunContext run, CancellationToken ct)
    {
        var output = new StreamAssembler(Publish);
        try
        {
            var (stream, first) = await OpenWithRetryAsync(request, llmCall, ct).ConfigureAwait(false);
            if (stream is null) return new StreamResult(output, null); // ended without any event: completed, empty
            await using (stream.ConfigureAwait(false))
            {
                var e = first!;
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    output.Handle(e);
                    if (e is StreamError err)
                    {
                        output.AbortOpenBlocks();
                        throw Fail(EngineErrorKind.Client, err.Code is null ? err.Message : $"API error [{err.Code}]: {err.Message}");
                    }

                    bool more;
                    try
                    {
                        more = await stream.NextAsync(ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        output.AbortOpenBlocks();
                        return new StreamResult(output, ErrorText(ex));
                    }
                    if (!more) break;
                    e = stream.Current;
                }
            }
            ct.ThrowIfCancellationRequested();
            // The enumerator ended without throwing: the client saw its scheme's terminal signal (a body ending without
            // one is thrown as interrupted, spec README item 8 / StreamCompleteness), so completing open blocks is safe.
            output.CompleteOpenBlocks();
            return new StreamResult(output, null);
        }
        finally
        {
            FlushUsage(output, request.Items.Count, run);
        }
    }

    /// <summary>Usage is delivered once per LLM call, however it ended, if any usage event arrived.</summary>
    private void FlushUsage(StreamAssembler output, int historyLen, RunContext run)
    {
        if (output.Usage is not { } u) return;
        Publish(new UsageEvent(u.InputTokens, u.OutputTokens, u.CacheReadInputTokens));
        run.Usage.Add(new LlmUsageEntry((ulong)historyLen, u.InputTokens ?? 0, u.CacheReadInputTokens ?? 0,
            u.CacheCreationInputTokens ?? 0, u.OutputTokens ?? 0));
    }

    private static string ErrorText(Exception ex) => ex is ModelException me ? me.Display : ex.Message;

    private sealed record OpenFailure(bool Retryable, int? Status, TimeSpan? RetryAfter, string Text);

    private sealed class OpenTimeoutException(string phase, TimeSpan after)
        : TimeoutException($"timeout: {phase} after {after.TotalMilliseconds:0} ms");

    private async Task<(OpenStream? Stream, StreamEvent? First)> OpenWithRetryAsync(ModelRequest request, ulong llmCall, CancellationToken ct)
    {
        var policy = _settings.RetryOrDefault;
        var start = TimeProvider.GetTimestamp();
        for (var k = 0; ; k++)
        {
            OpenFailure failure;
            try
            {
                return await OpenOnceAsync(request, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                failure = Classify(ex);
            }

            if (!failure.Retryable || k + 1 >= policy.MaxAttempts)
                throw Fail(EngineErrorKind.Client, failure.Text, failure.Status);
            var wait = failure.RetryAfter ?? Jitter(policy, k);
            var elapsed = TimeProvider.GetElapsedTime(start);
            if (elapsed + wait > policy.TotalTimeout)
                throw Fail(EngineErrorKind.Client, failure.Text, failure.Status);
            Publish(new LlmRetryEvent(llmCall, (uint)(k + 1), (uint)policy.MaxAttempts, (ulong)wait.TotalMilliseconds,
                (ulong)elapsed.TotalMilliseconds, failure.Status is { } s ? (ushort)s : null, failure.Text));
            if (Delay is { } delay) await delay(wait, ct).ConfigureAwait(false);
            else await Task.Delay(wait, TimeProvider, ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    private TimeSpan Jitter(RetryPolicy policy, int k)
    {
        var ceiling = Math.Min(policy.Base.TotalMilliseconds * Math.Pow(2, Math.Min(k, 20)), policy.Cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Max(0, NextRandom()) * ceiling);
    }

    private static OpenFailure Classify(Exception ex) => ex switch
    {
        ModelException me => new OpenFailure(me.IsRetryable, me.Status, me.RetryAfter, me.Display),
        TimeoutException => new OpenFailure(true, null, null, ex.Message),
        HttpRequestException he => new OpenFailure(
            he.StatusCode is not { } code || ModelException.RetryableStatuses.Contains((int)code),
            he.StatusCode is { } c ? (int)c : null, null, he.Message),
        IOException => new OpenFailure(true, null, null, ex.Message),
        OperationCanceledException => new OpenFailure(true, null, null, "timeout: " + ex.Message), // e.g. HttpClient timeout
        _ => new OpenFailure(false, null, null, ex.Message),
    };

    /// <summary>Open = <see cref="IModelClient.OpenAsync"/> under the open timeout, then the first event under the
    /// first-event timeout. Returns (null, null) when the stream ended without any event.</summary>
    private async Task<(OpenStream? Stream, StreamEvent? First)> OpenOnceAsync(ModelRequest request, CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<IAsyncEnumerator<StreamEvent>> openTask;
        try
        {
            openTask = _model.OpenAsync(request, cts.Token).AsTask();
        }
        catch
        {
            cts.Dispose();
            throw;
        }
        IAsyncEnumerator<StreamEvent> enumerator;
        try
        {
            enumerator = await openTask.WaitAsync(_settings.Open, TimeProvider, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            cts.Cancel();
            _ = openTask.ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) _ = t.Result.DisposeAsync();
                else _ = t.Exception; // observed: the open was abandoned
                cts.Dispose();
            }, TaskScheduler.Default);
            if (ex is TimeoutException && !openTask.IsCompleted) throw new OpenTimeoutException("stream_open", _settings.Open);
            throw;
        }

        var stream = new OpenStream(enumerator, cts);
        try
        {
            bool any;
            try
            {
                any = await stream.NextAsync(ct, _settings.FirstEvent, TimeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException) when (stream.IsPending)
            {
                throw new OpenTimeoutException("stream_first_event", _settings.FirstEvent);
            }
            if (!any)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                return (null, null);
            }
            return (stream, stream.Current);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>An open provider stream. Waits honour the run token even when the provider ignores it; an
    /// abandoned pending read is cleaned up in the background once the provider gives up.</summary>
    private sealed class OpenStream(IAsyncEnumerator<StreamEvent> enumerator, CancellationTokenSource cts) : IAsyncDisposable
    {
        private Task<bool>? _pending;

        public StreamEvent Current => enumerator.Current;

        public bool IsPending => _pending is { IsCompleted: false };

        public async Task<bool> NextAsync(CancellationToken ct, TimeSpan? timeout = null, TimeProvider? time = null)
        {
            var task = enumerator.MoveNextAsync().AsTask();
            _pending = task;
            var result = timeout is { } t
                ? await task.WaitAsync(t, time ?? TimeProvider.System, ct).ConfigureAwait(false)
                : await task.WaitAsync(ct).ConfigureAwait(false);
            _pending = null;
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (_pending is { IsCompleted: false } pending)
            {
                _ = pending.ContinueWith(async t =>
                {
                    _ = t.Exception; // observed: the read was abandoned
                    try { await enumerator.DisposeAsync().ConfigureAwait(false); } catch { /* abandoned */ }
                    cts.Dispose();
                }, TaskScheduler.Default);
                return;
            }
            try
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                // a provider failing to clean up does not change the outcome
            }
            cts.Dispose();
        }
    }

    // ---------------------------------------------------------------- tool batches (§1.6, §8.3)

    /// <summary>Runs one batch; returns true when an interceptor paused it (nothing executed).</summary>
    private async Task<bool> ExecuteBatchAsync(IReadOnlyList<ToolCallItem> calls, CancellationToken ct)
    {
        var batchId = $"tool-batch-{_state.BatchCount}";
        _state.BatchCount++;

        // Phase 1: pre_tool_call, sequential, model order.
        var approved = new List<ToolCallInfo>();
        var synthetic = new List<ToolResultItem>();
        var invalid = new Dictionary<ToolCallInfo, ToolResultItem>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            _tools.TryGetValue(call.Name, out var tool);
            var parsed = ToolArguments.TryParseObject(call.Arguments, out var input, out var argumentError);
            var info = new ToolCallInfo(call, tool, new ToolCallContext(call.CallId, batchId, i), input);
            if (tool is null)
            {
                approved.Add(info); // unknown tools skip the interceptor and fail at execution
                continue;
            }
            if (!parsed)
            {
                // Deviation (spec README item 9): never run a tool with arguments the model did not send (the reference
                // runs it with {}). The call keeps its place and gets an error result naming the parse error, so the
                // model can retry it; the interceptor is not asked to approve a call that will not run.
                approved.Add(info);
                invalid[info] = InvalidArguments(call, argumentError!);
                continue;
            }
            var decision = await _interceptor.PreToolCall(info).ConfigureAwait(false);
            switch (decision.Action)
            {
                case PreToolAction.Continue:
                    approved.Add(info);
                    break;
                case PreToolAction.SyntheticResult:
                    var r = decision.Result ?? new ToolOutput("");
                    synthetic.Add(new ToolResultItem(call.CallId, r.Summary, r.Content, NonEmpty(r.Attachments), decision.IsError));
                    break;
                case PreToolAction.Abort:
                    throw Fail(EngineErrorKind.Aborted, decision.Reason ?? "");
                case PreToolAction.Pause:
                    return true;
                // Skip: no result (reference behaviour)
            }
        }

        // Phase 2: concurrent execution; cancel drops the in-flight executions, nothing is committed. A tool with
        // side effects runs only once the journal holds its call (and everything before it).
        if (approved.Any(info => info.Tool is { ReadOnly: false } && !invalid.ContainsKey(info)))
        {
            try
            {
                await _host.DurableAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                throw Fail(EngineErrorKind.HistoryAppend, ex.Message);
            }
        }
        var tasks = approved.Select(info => invalid.TryGetValue(info, out var refused)
            ? Task.FromResult(refused)
            : Task.Run(() => ExecuteOneAsync(info, ct), CancellationToken.None)).ToArray();
        var all = Task.WhenAll(tasks);
        _ = all.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        var results = await all.WaitAsync(ct).ConfigureAwait(false);

        // Phase 3: post_tool_call for registered tools.
        for (var i = 0; i < approved.Count; i++)
        {
            if (approved[i].Tool is null || invalid.ContainsKey(approved[i])) continue;
            var decision = await _interceptor.PostToolCall(approved[i], results[i]).ConfigureAwait(false);
            if (decision.Action == PostToolAction.Abort) throw Fail(EngineErrorKind.Aborted, decision.Reason ?? "");
            if (decision.Replacement is { } replacement) results[i] = replacement with { CallId = approved[i].Call.CallId };
        }

        // Phase 4: output byte cap on registered-tool content.
        for (var i = 0; i < approved.Count; i++)
        {
            var name = approved[i].Call.Name;
            if (approved[i].Tool is null || results[i].Content is not { } content) continue;
            var limit = _settings.Limits.For(name);
            if (ToolOutputBounding.Truncate(content, limit) is not { } truncated) continue;
            _host.Warn(ToolOutputBounding.Warning(name, Encoding.UTF8.GetByteCount(content), Encoding.UTF8.GetByteCount(truncated), limit));
            results[i] = results[i] with { Content = truncated };
        }

        // Phase 5: publish and commit each result (executed in model order, then synthetic).
        foreach (var result in results.Concat(synthetic))
        {
            Publish(new ToolResultEvent(result.CallId, result.Summary, result.Content, result.IsError));
            await CommitAsync(result).ConfigureAwait(false);
        }
        return false;
    }

    private const int ArgumentPreviewChars = 500;

    /// <summary>The error result of a call whose arguments are not a JSON object: the parse error and (a bounded
    /// preview of) the text as sent, in the reference's "Invalid argument" form.</summary>
    internal static ToolResultItem InvalidArguments(ToolCallItem call, string error)
    {
        var sent = call.Arguments.Length <= ArgumentPreviewChars
            ? call.Arguments
            : call.Arguments[..ArgumentPreviewChars] + $"… ({call.Arguments.Length} characters)";
        return new ToolResultItem(call.CallId,
            $"Tool execution failed: Invalid argument: {error} The tool was not run. Arguments as sent: {sent}", IsError: true);
    }

    private static async Task<ToolResultItem> ExecuteOneAsync(ToolCallInfo info, CancellationToken ct)
    {
        var callId = info.Call.CallId;
        if (info.Tool is null) return new ToolResultItem(callId, $"Tool '{info.Call.Name}' not found", IsError: true);
        try
        {
            var output = await info.Tool.ExecuteAsync(info.Input, info.Context, ct).ConfigureAwait(false);
            return new ToolResultItem(callId, output.Summary, output.Content, NonEmpty(output.Attachments));
        }
        catch (ToolException te)
        {
            return new ToolResultItem(callId, "Tool execution failed: " + te.Display, IsError: true);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return new ToolResultItem(callId, "Tool execution failed: Internal error: " + ex.Message, IsError: true);
        }
    }

    private static IReadOnlyList<ImageAttachment>? NonEmpty(IReadOnlyList<ImageAttachment>? a) => a is { Count: > 0 } ? a : null;
}
