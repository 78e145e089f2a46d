using System.Text.Json.Serialization;

namespace Yoi.Messages;

/// <summary>Client → Worker method, adjacently tagged `{"method":…,"params":…}` (reference-protocol §1).
/// Unit methods have no `params`.</summary>
[JsonConverter(typeof(Json.MethodConverter))]
public abstract record Method : IYoiMessage
{
    /// <summary>Decodes one JSON line; any failure (malformed JSON, unknown method, `run_tracked`, schema
    /// mismatch) is a <see cref="System.Text.Json.JsonException"/> whose message suits "invalid method: …".</summary>
    public static Method Decode(string line) => Json.Codec.Decode<Method>(line);

    /// <inheritdoc cref="Decode(string)"/>
    public static Method Decode(ReadOnlySpan<byte> utf8Line) => Json.Codec.Decode<Method>(utf8Line);

    /// <summary>Compact JSON (one line, no trailing newline).</summary>
    public string Encode() => Json.Codec.Encode<Method>(this);
}

public sealed record RunMethod(IReadOnlyList<Segment> Input) : Method;

/// <summary>Runtime-internal (never on the wire: encoding throws, decoding `run_tracked` is an invalid method).</summary>
public sealed record RunTrackedMethod(IReadOnlyList<Segment> Input, string SubmissionId) : Method;

/// <summary>`auto_run` defaults to true and is omitted on encoding when true.</summary>
public sealed record NotifyMethod(string Message, bool AutoRun = true) : Method;

/// <summary>`params` is the internally tagged WorkerEvent itself.</summary>
public sealed record WorkerEventMethod(WorkerEvent Event) : Method;

public sealed record ResumeMethod : Method;
public sealed record CancelMethod : Method;
public sealed record PauseMethod : Method;
public sealed record CompactMethod : Method;
public sealed record ListRewindTargetsMethod : Method;
public sealed record RewindToMethod(RewindTargetId Target, int ExpectedHeadEntries) : Method;
public sealed record ShutdownMethod : Method;
public sealed record ListCompletionsMethod(CompletionKind Kind, string Prefix) : Method;
public sealed record ListWorkersMethod : Method;
public sealed record RestoreWorkerMethod(string Name) : Method;
public sealed record RegisterPeerMethod(string Name) : Method;

// --- host-level methods (the node endpoint, spec README "Host") ---

/// <summary>`manifest` is a path to a TOML manifest, `manifest_toml` inline text (either, not both).</summary>
public sealed record CreateSpec(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Manifest = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ManifestToml = null);

/// <summary>First line of a connection: attach to (and optionally create) a Worker.</summary>
public sealed record AttachMethod(string Worker, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CreateSpec? Create = null) : Method;

/// <summary>First line on the TCP endpoint: the shared token.</summary>
public sealed record HelloMethod(string Token) : Method;
