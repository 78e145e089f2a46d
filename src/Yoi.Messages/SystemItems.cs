using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages;

/// <summary>Audit-only provenance of a rendered prompt.</summary>
public sealed record PromptProvenance(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? WorkspaceId,
    ulong ConfigRevision,
    string SourceDigest,
    string ProjectionDigest,
    string LogicalName);

/// <summary>A Worker-injected system item (tag `kind`). `Body` is exactly the text the model saw,
/// so replay is byte-identical even if templates change.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(NotificationSystemItem), "notification")]
[JsonDerivedType(typeof(WorkerEventSystemItem), "worker_event")]
[JsonDerivedType(typeof(FileAttachmentSystemItem), "file_attachment")]
[JsonDerivedType(typeof(SkillActivationSystemItem), "skill_activation")]
[JsonDerivedType(typeof(TaskReminderSystemItem), "task_reminder")]
[JsonDerivedType(typeof(InterruptSystemItem), "interrupt")]
[JsonDerivedType(typeof(KnowledgeSystemItem), "knowledge")]
[JsonDerivedType(typeof(WorkflowSystemItem), "workflow")]
public abstract record SystemItem
{
    /// <summary>The system message text this item replays as (reference-engine §4.3).</summary>
    public abstract string ReplayText();
}

public sealed record NotificationSystemItem(
    string Message, string Body,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PromptProvenance? PromptProvenance = null) : SystemItem
{
    public override string ReplayText() => Body;
}

public sealed record WorkerEventSystemItem(
    WorkerEvent Event, string Body,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PromptProvenance? PromptProvenance = null) : SystemItem
{
    public override string ReplayText() => Body;
}

public sealed record FileAttachmentSystemItem(string Path, string Body) : SystemItem
{
    public override string ReplayText() => Body;
}

public sealed record SkillActivationSystemItem(string Name, string Body) : SystemItem
{
    public override string ReplayText() => Body;
}

public sealed record TaskReminderSystemItem(
    string Source, string Body,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PromptProvenance? PromptProvenance = null) : SystemItem
{
    public override string ReplayText() => Body;
}

public sealed record InterruptSystemItem(
    string Body,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PromptProvenance? PromptProvenance = null) : SystemItem
{
    public const string DefaultBody = "[The previous turn was interrupted by the user. The user's next request follows.]";
    public override string ReplayText() => Body;
}

/// <summary>Legacy: replays as an empty system message.</summary>
public sealed record KnowledgeSystemItem(string Slug, string Body) : SystemItem
{
    public override string ReplayText() => "";
}

/// <summary>Legacy: replays as "Ignored legacy procedure item: /slug".</summary>
public sealed record WorkflowSystemItem(string Slug) : SystemItem
{
    public override string ReplayText() => "Ignored legacy procedure item: /" + Slug;
}
