namespace Yoi.Actors.Engine.Scripted;

/// <summary>One element of a scripted response. See <see cref="ScriptLoader"/> for the JSON form.</summary>
public abstract record ScriptItem;

/// <summary>One text block streamed as these deltas.</summary>
public sealed record ScriptText(IReadOnlyList<string> Deltas) : ScriptItem
{
    public ScriptText(params string[] deltas) : this((IReadOnlyList<string>)deltas) { }
}

/// <summary>One thinking block. With a signature and/or encrypted content its stop carries reasoning round-trip
/// data (it becomes a reasoning item); without, it is display-only.</summary>
public sealed record ScriptThinking(IReadOnlyList<string> Deltas, string? Signature = null, string? EncryptedContent = null) : ScriptItem;

/// <summary>One tool-use block: start {id, name}, the argument text in <c>Chunks</c> fragments, a ToolUse stop.
/// <c>ArgumentsJson</c> is sent verbatim (it may be invalid JSON); empty means no argument delta at all.</summary>
public sealed record ScriptToolCall(string? Id, string Name, string ArgumentsJson = "", int Chunks = 1) : ScriptItem;

public sealed record ScriptUsage(ulong? Input = null, ulong? Output = null, ulong? CacheRead = null, ulong? CacheCreation = null,
    ulong? Total = null) : ScriptItem;

public sealed record ScriptDelay(int Milliseconds) : ScriptItem;

/// <summary>Waits until the request is cancelled.</summary>
public sealed record ScriptHang : ScriptItem;

/// <summary>Makes the whole response an open failure: a <see cref="ModelException"/> before any event.
/// Retryable by the engine's policy when the status is (408, 425, 429, 500, 502, 503, 504, 529).</summary>
public sealed record ScriptOpenError(int? Status, string Message, double? RetryAfterSeconds = null, string? Code = null,
    bool? Retryable = null) : ScriptItem;

/// <summary>A mid-stream transport break: an <see cref="IOException"/> thrown at this point.</summary>
public sealed record ScriptBreak(string Reason) : ScriptItem;

/// <summary>A provider error event inside the stream (<see cref="StreamError"/>).</summary>
public sealed record ScriptError(string? Code, string Message) : ScriptItem;

/// <summary>A raw normalised event, emitted as is (in-memory scripts only; lets tests shape unusual streams).</summary>
public sealed record ScriptEvent(StreamEvent Event) : ScriptItem;

/// <summary>One scripted LLM response. <c>Match</c>: if set, the response is only used for a request whose last
/// user or system message contains it (ordinal substring).</summary>
public sealed record ScriptedResponse(IReadOnlyList<ScriptItem> Items, string? Match = null)
{
    public ScriptedResponse(params ScriptItem[] items) : this((IReadOnlyList<ScriptItem>)items) { }
}

/// <summary>A parsed script: the model id to report and the responses in order.</summary>
public sealed record ScriptedScript(string Model, IReadOnlyList<ScriptedResponse> Responses);
