using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Delegation;

/// <summary>What a delegation tool asks its Worker (Ask with a timeout), parsed from the tool input by the tool itself,
/// off the actor. Every request is answered with a <see cref="DelegationToolReply"/>.</summary>
public abstract record DelegationRequest : IYoiMessage
{
    /// <summary>W3C traceparent of the tool's <c>execute_tool</c> span (telemetry on): a spawned child's run is its child.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The request a delegation tool sends for <paramref name="input"/>; a malformed input throws the tool error
    /// the model sees. <paramref name="spawner"/> is the Worker the tool belongs to (a child may not take its name).</summary>
    public static DelegationRequest Parse(string tool, JsonElement input, WorkerName spawner) => tool switch
    {
        DelegationTools.SpawnWorker => SpawnWorkerRequest.Parse(input, spawner),
        DelegationTools.SendToWorker or DelegationTools.ReadWorkerOutput => new ResolveWorkerRequest(RequiredString(input, "name", "worker")),
        DelegationTools.StopWorker => new StopWorkerRequest(RequiredString(input, "name", "worker")),
        DelegationTools.ListWorkers => ListWorkersRequest.Instance,
        DelegationTools.RestoreWorker => new RestoreWorkerRequest(RequiredString(input, "name", tool)),
        DelegationTools.SendToPeerWorker => new SendToPeerRequest(RequiredString(input, "name", tool), RequiredString(input, "message", tool)),
        _ => throw new ToolException(ToolErrorKind.Internal, $"unknown delegation tool {tool}"),
    };

    internal static ToolException Invalid(string message) => new(ToolErrorKind.InvalidArgument, message);

    internal static string RequiredString(JsonElement input, string key, string tool) =>
        input.ValueKind == JsonValueKind.Object && input.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw Invalid($"invalid {tool} input: missing string field `{key}`");
}

/// <summary>SpawnWorker (reference-delegation §1.3), its input checked for shape and name (steps 1–3); the checks
/// against the spawner's grant, limits and registry are <see cref="SpawnPlan.Validate"/>'s.</summary>
public sealed record SpawnWorkerRequest(string Name, string Task, IReadOnlyList<ScopeRule> Scope, string? Cwd = null,
    string Profile = "", string? Instruction = null) : DelegationRequest
{
    public static SpawnWorkerRequest Parse(JsonElement input, WorkerName spawner)
    {
        if (input.ValueKind != JsonValueKind.Object) throw Invalid("invalid SpawnWorker input: expected an object");
        var name = RequiredString(input, "name", "SpawnWorker");
        var task = RequiredString(input, "task", "SpawnWorker");
        if (!input.TryGetProperty("scope", out var scopeJson) || scopeJson.ValueKind != JsonValueKind.Array)
            throw Invalid("invalid SpawnWorker input: missing array field `scope`");
        if (name == spawner.Short || name == spawner.Value) throw Invalid($"worker name `{name}` collides with spawner's own name");
        if (!WorkerName.IsValidSegment(name) || name is "." or "..")
            throw Invalid($"invalid SpawnWorker input: invalid worker name `{name}` (use [A-Za-z0-9._-], 1-64 chars)");

        var rules = new List<ScopeRule>();
        foreach (var r in scopeJson.EnumerateArray())
        {
            ScopeRule? rule;
            try { rule = r.Deserialize<ScopeRule>(YoiJson.Options); }
            catch (JsonException e) { throw Invalid("invalid SpawnWorker input: " + e.Message); }
            if (rule is null || rule.Target is null) throw Invalid("invalid SpawnWorker input: scope entries need target and permission");
            if (!r.TryGetProperty("recursive", out _)) rule = rule with { Recursive = true };
            rules.Add(rule);
        }
        if (rules.Count == 0) throw Invalid("scope must not be empty");
        foreach (var r in rules)
            if (!Path.IsPathRooted(r.Target)) throw Invalid($"scope.target must be absolute: {r.Target}");

        return new SpawnWorkerRequest(name, task, rules,
            Cwd: input.TryGetProperty("cwd", out var cwd) && cwd.ValueKind == JsonValueKind.String ? cwd.GetString()! : null,
            Profile: input.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!.Trim() : "",
            Instruction: input.TryGetProperty("instruction", out var ins) && ins.ValueKind == JsonValueKind.String ? ins.GetString() : null);
    }
}

/// <summary>SendToWorker / ReadWorkerOutput: which child (or descendant) <c>Name</c> is; the reply's <c>Content</c> is
/// its full name, which the tool then talks to as a client.</summary>
public sealed record ResolveWorkerRequest(string Name) : DelegationRequest;

/// <summary>StopWorker (§2.4).</summary>
public sealed record StopWorkerRequest(string Name) : DelegationRequest;

/// <summary>ListWorkers (§5.1).</summary>
public sealed record ListWorkersRequest : DelegationRequest
{
    public static ListWorkersRequest Instance { get; } = new();
}

/// <summary>RestoreWorker (§5.2).</summary>
public sealed record RestoreWorkerRequest(string Name) : DelegationRequest;

/// <summary>SendToPeerWorker: a message to a registered peer, delivered as a notification.</summary>
public sealed record SendToPeerRequest(string Name, string Message) : DelegationRequest;
