using System.Text.Json;
using Yoi.Messages.Json;

namespace Yoi.Actors.Manifest;

/// <summary>`[model]`: which LLM a Worker talks to. The API key is never stored: only the variable's name.</summary>
public sealed record ModelSection(
    string Scheme,
    string? ModelId = null,
    string? BaseUrl = null,
    string? ApiKeyEnv = null,
    ulong? ContextWindow = null,
    string? Script = null);

public sealed record EngineSection(
    string? Instruction = null,
    uint? MaxTokens = null,
    int? MaxTurns = null,
    double? Temperature = null,
    double? TopP = null,
    uint? TopK = null,
    IReadOnlyList<string>? StopSequences = null,
    int ToolOutputDefaultMaxBytes = 64 * 1024,
    IReadOnlyDictionary<string, int>? ToolOutputPerTool = null,
    int FileUploadMaxBytes = 256 * 1024);

public sealed record SessionSection(bool RecordEventTrace = false, bool ResumeOnRecovery = false);

/// <summary>The resolved manifest (relative paths made absolute against <c>BaseDir</c>); journaled when a Worker
/// is created, so restarts and migrations use exactly what the Worker was created with.</summary>
public sealed record WorkerManifest(
    string? Name,
    ModelSection Model,
    EngineSection Engine,
    SessionSection Session,
    string BaseDir)
{
    public const ulong DefaultContextWindow = 200_000;

    [System.Text.Json.Serialization.JsonIgnore]
    public ulong ContextWindow => Model.ContextWindow ?? DefaultContextWindow;

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, YoiJson.Options);

    public static WorkerManifest FromJson(JsonElement json) =>
        json.Deserialize<WorkerManifest>(YoiJson.Options) ?? throw new JsonException("null manifest");
}
