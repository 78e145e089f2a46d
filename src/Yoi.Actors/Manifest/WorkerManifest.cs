using Yoi.Messages;
using System.Text.Json;
using Yoi.Actors.Scope;
using Yoi.Messages.Json;

namespace Yoi.Actors.Manifest;

/// <summary>`[model]`: which LLM a Worker talks to, resolved (a `ref` is looked up in the catalog when the manifest
/// is read, so the journaled manifest keeps what the Worker was created with). The API key is never stored: only the
/// variable's name. <c>Provider</c> is the catalog's provider id (`openrouter`), null for an inline `[model]`;
/// <c>ContextWindow</c> the manifest's value else the catalog's, before <c>MaxContextWindow</c> clamps it;
/// <c>Client</c> the registered IChatClient's name for scheme `chat_client`.</summary>
public sealed record ModelSection(
    string Scheme,
    string? ModelId = null,
    string? BaseUrl = null,
    string? ApiKeyEnv = null,
    ulong? ContextWindow = null,
    string? Script = null,
    string? Provider = null,
    ulong? MaxContextWindow = null,
    Yoi.Actors.Providers.ModelCapability? Capability = null,
    string? Client = null);

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
    int FileUploadMaxBytes = 256 * 1024,
    JsonElement? Reasoning = null);

public sealed record SessionSection(bool RecordEventTrace = false, bool ResumeOnRecovery = false);

public enum PermissionAction { Allow, Deny, Ask }

/// <summary>One `[[permissions.rule]]`: a tool name (case-insensitive) and a glob over the call's target string.</summary>
public sealed record PermissionRule(string Tool, string Pattern, PermissionAction Action);

/// <summary>`[permissions]`: evaluated in declaration order, first match wins, else <c>DefaultAction</c>.</summary>
public sealed record PermissionsSection(PermissionAction DefaultAction, IReadOnlyList<PermissionRule> Rules);

/// <summary>An environment value for an MCP server: <c>literal</c> (Value) or <c>env_ref</c> (Name, read from this
/// process's environment at start).</summary>
public sealed record McpEnvValue(string Kind, string? Value = null, string? Name = null);

/// <summary>One `[[mcp.stdio_server]]`. <c>Cwd</c> null = inherit.</summary>
public sealed record McpServerConfig(
    string Name,
    string Command,
    IReadOnlyList<string>? Args = null,
    string? Cwd = null,
    IReadOnlyList<string>? EnvInherit = null,
    IReadOnlyDictionary<string, McpEnvValue>? EnvSet = null);

/// <summary>`[feature.workers]`: the delegation tools (SpawnWorker, …). <c>MaxDepth</c> bounds nesting (a top-level
/// Worker is depth 0, its children depth 1), <c>MaxChildren</c> the live children of one Worker.</summary>
public sealed record WorkersFeature(bool Enabled = false, int MaxDepth = 3, int MaxChildren = 8);

/// <summary>The resolved manifest (relative paths made absolute against <c>BaseDir</c>); journaled when a Worker
/// is created, so restarts and migrations use exactly what the Worker was created with.</summary>
public sealed record WorkerManifest(
    string? Name,
    ModelSection Model,
    EngineSection Engine,
    SessionSection Session,
    string BaseDir,
    string? Workspace = null,
    string? Cwd = null,
    ScopeConfig? Scope = null,
    ScopeConfig? DelegationScope = null,
    PermissionsSection? Permissions = null,
    IReadOnlyList<McpServerConfig>? McpServers = null,
    WorkersFeature? Workers = null,
    CompactionSection? Compaction = null,
    ToolsSection? Tools = null,
    TelemetrySection? Telemetry = null)
{
    public const ulong DefaultContextWindow = 200_000;

    /// <summary>The root that tools' logical paths are joined onto: `[worker] workspace`, else the manifest folder.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string WorkspaceRoot => Workspace ?? BaseDir;

    /// <summary>Where Bash runs and file refs resolve: `[worker] cwd`, else the workspace root.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string WorkingDirectory => Cwd ?? WorkspaceRoot;

    /// <summary>The effective window (reference-engine §3.6): manifest, else catalog model, else provider, else 200,000,
    /// clamped by <c>max_context_window</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ulong ContextWindow => Yoi.Actors.Providers.ModelCatalog.EffectiveWindow(Model.ContextWindow, null, Model.MaxContextWindow);

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, YoiJson.Options);

    public static WorkerManifest FromJson(JsonElement json) =>
        json.Deserialize<WorkerManifest>(YoiJson.Options) ?? throw new JsonException("null manifest");
}
