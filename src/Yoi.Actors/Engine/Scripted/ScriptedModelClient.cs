using System.Runtime.CompilerServices;
using Yoi.Messages;

namespace Yoi.Actors.Engine.Scripted;

/// <summary>The <c>scripted</c> model (tests and the offline demo): each LLM call consumes the first not yet
/// consumed response whose <c>match</c> (if any) occurs in the text of the last user or system message of the
/// request. The JSON script format is described on <see cref="ScriptLoader"/> and in <c>docs/scripted-model.md</c>.
/// Running out of responses is a non-retryable <see cref="ModelException"/>
/// "scripted model: no response left for this request (N responses in script)", raised as an open failure.
/// Thread-safe: calls may come from different tasks.</summary>
public sealed class ScriptedModelClient : IModelClient
{
    private readonly object _gate = new();
    private readonly IReadOnlyList<ScriptedResponse> _responses;
    private readonly bool[] _consumed;
    private readonly List<ModelRequest> _requests = [];
    private int _calls;

    public ScriptedModelClient(IEnumerable<ScriptedResponse> responses, string model = ScriptLoader.DefaultModel)
    {
        _responses = responses.ToArray();
        _consumed = new bool[_responses.Count];
        Model = model;
    }

    public ScriptedModelClient(ScriptedScript script) : this(script.Responses, script.Model) { }

    /// <summary>Loads a script file (throws <see cref="ScriptFormatException"/> for unreadable or malformed scripts).</summary>
    public static ScriptedModelClient FromFile(string path) => new(ScriptLoader.Load(path));

    public static ScriptedModelClient FromJson(string json) => new(ScriptLoader.Parse(json));

    public string Provider => "scripted";

    public string Model { get; }

    /// <summary>Every request received, in order (including those that found no response).</summary>
    public IReadOnlyList<ModelRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    /// <summary>Number of responses not yet consumed.</summary>
    public int Remaining
    {
        get { lock (_gate) return _consumed.Count(c => !c); }
    }

    public IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, CancellationToken ct)
    {
        ScriptedResponse? chosen = null;
        int call;
        lock (_gate)
        {
            _requests.Add(request);
            call = _calls++;
            var text = LastUserOrSystemText(request.Items);
            for (var i = 0; i < _responses.Count; i++)
            {
                if (_consumed[i]) continue;
                var match = _responses[i].Match;
                if (match is not null && !text.Contains(match, StringComparison.Ordinal)) continue;
                _consumed[i] = true;
                chosen = _responses[i];
                break;
            }
        }
        return Play(chosen, call, ct);
    }

    /// <summary>The text a response's <c>match</c> is tested against.</summary>
    public static string LastUserOrSystemText(IReadOnlyList<HistoryItem> items)
    {
        for (var i = items.Count - 1; i >= 0; i--)
            if (items[i] is MessageItem { Role: Role.User or Role.System } m)
                return m.PlainText;
        return "";
    }

    private async IAsyncEnumerable<StreamEvent> Play(ScriptedResponse? response, int call, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.Yield();
        if (response is null)
            throw new ModelException($"scripted model: no response left for this request ({_responses.Count} responses in script)",
                retryable: false);
        if (response.Items.OfType<ScriptOpenError>().FirstOrDefault() is { } open)
            throw new ModelException(open.Message, open.Status, open.Code,
                open.RetryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null, open.Retryable);

        var index = 0;
        foreach (var item in response.Items)
        {
            ct.ThrowIfCancellationRequested();
            switch (item)
            {
                case ScriptText t:
                    yield return new BlockStart(index, BlockType.Text);
                    foreach (var d in t.Deltas) yield return new BlockDelta(index, DeltaKind.Text, d);
                    yield return new BlockStop(index, BlockType.Text, StopReason.EndTurn);
                    index++;
                    break;
                case ScriptThinking th:
                    yield return new BlockStart(index, BlockType.Thinking);
                    foreach (var d in th.Deltas) yield return new BlockDelta(index, DeltaKind.Thinking, d);
                    var reasoning = th.Signature is not null || th.EncryptedContent is not null
                        ? new ReasoningData(EncryptedContent: th.EncryptedContent, Signature: th.Signature)
                        : null;
                    yield return new BlockStop(index, BlockType.Thinking, null, reasoning);
                    index++;
                    break;
                case ScriptToolCall tc:
                    var id = tc.Id ?? $"call_{call}_{index}";
                    yield return new BlockStart(index, BlockType.ToolUse, id, tc.Name);
                    foreach (var chunk in Split(tc.ArgumentsJson, tc.Chunks)) yield return new BlockDelta(index, DeltaKind.InputJson, chunk);
                    yield return new BlockStop(index, BlockType.ToolUse, StopReason.ToolUse);
                    index++;
                    break;
                case ScriptUsage u:
                    yield return new StreamUsage(u.Input, u.Output, u.Total, u.CacheRead, u.CacheCreation);
                    break;
                case ScriptDelay delay:
                    await Task.Delay(delay.Milliseconds, ct).ConfigureAwait(false);
                    break;
                case ScriptHang:
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                    break;
                case ScriptBreak b:
                    throw new IOException(b.Reason);
                case ScriptError e:
                    yield return new StreamError(e.Code, e.Message);
                    break;
                case ScriptEvent raw:
                    yield return raw.Event;
                    break;
            }
        }
    }

    /// <summary>Splits <paramref name="text"/> into at most <paramref name="parts"/> non-empty fragments without
    /// separating a surrogate pair. Empty text yields nothing.</summary>
    internal static IEnumerable<string> Split(string text, int parts)
    {
        if (text.Length == 0) yield break;
        parts = Math.Clamp(parts, 1, text.Length);
        var start = 0;
        for (var p = 1; p <= parts; p++)
        {
            var end = p == parts ? text.Length : (int)((long)text.Length * p / parts);
            if (end < text.Length && end > 0 && char.IsLowSurrogate(text[end])) end++;
            if (end <= start) continue;
            yield return text[start..end];
            start = end;
        }
    }
}
