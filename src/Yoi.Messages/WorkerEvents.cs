using System.Text.Json.Serialization;

namespace Yoi.Messages;

public enum Permission { Read, Write }

public sealed record ScopeRule(
    string Target,
    Permission Permission,
    bool Recursive = true);

/// <summary>Child → parent lifecycle report (reference-protocol §3), internally tagged by `kind`.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(TurnEndedWorkerEvent), "turn_ended")]
[JsonDerivedType(typeof(ErroredWorkerEvent), "errored")]
[JsonDerivedType(typeof(ShutDownWorkerEvent), "shut_down")]
[JsonDerivedType(typeof(ScopeSubDelegatedWorkerEvent), "scope_sub_delegated")]
public abstract record WorkerEvent
{
    /// <summary>Agent-visible events go to the notify buffer and wake an idle parent; control-plane ones do not.</summary>
    [JsonIgnore] public abstract bool IsAgentVisible { get; }

    /// <summary>The text the parent's model sees inside the notify wrapper.</summary>
    public abstract string Render();
}

public sealed record TurnEndedWorkerEvent(string WorkerName) : WorkerEvent
{
    [JsonIgnore] public override bool IsAgentVisible => true;
    public override string Render() => $"worker `{WorkerName}` finished a turn";
}

public sealed record ErroredWorkerEvent(string WorkerName, string Message) : WorkerEvent
{
    [JsonIgnore] public override bool IsAgentVisible => true;
    public override string Render() => $"worker `{WorkerName}` errored: {Message}";
}

public sealed record ShutDownWorkerEvent(string WorkerName) : WorkerEvent
{
    [JsonIgnore] public override bool IsAgentVisible => true;
    public override string Render() => $"worker `{WorkerName}` shut down";
}

public sealed record ScopeSubDelegatedWorkerEvent(string ParentWorker, string SubWorker, string SubSocket, IReadOnlyList<ScopeRule> Scope) : WorkerEvent
{
    [JsonIgnore] public override bool IsAgentVisible => false;
    public override string Render() => $"worker `{ParentWorker}` sub-delegated scope to `{SubWorker}`";
}
