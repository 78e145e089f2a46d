namespace Yoi.Actors.Providers;

/// <summary>What a model can do (reference-engine §3.1), from the catalog or the manifest's <c>[model.capability]</c>;
/// it drives the request mapping (image parts or a note, reasoning fields, cache breakpoints). Journaled as part of
/// the resolved manifest, so a Worker keeps the capability it was created with.</summary>
/// <param name="ToolCalling"><c>none</c>, <c>sequential</c> or <c>parallel</c>.</param>
/// <param name="StructuredOutput"><c>none</c>, <c>json_object</c> or <c>json_schema</c>.</param>
/// <param name="Reasoning"><c>effort</c>, <c>budget_tokens</c>, <c>both</c>, or null (no reasoning controls).</param>
/// <param name="Vision">Images may be sent to the model.</param>
/// <param name="PromptCaching">null = unknown (the scheme's own default).</param>
public sealed record ModelCapability(
    string ToolCalling = "parallel",
    string StructuredOutput = "json_schema",
    string? Reasoning = null,
    bool Vision = false,
    PromptCaching? PromptCaching = null)
{
    public bool SupportsBudget => Reasoning is "budget_tokens" or "both";

    public bool SupportsEffort => Reasoning is "effort" or "both";

    public bool ExplicitCaching => PromptCaching is { Kind: "explicit" };
}

/// <summary><c>{kind = "explicit", max_breakpoints}</c> (Anthropic's <c>cache_control</c>) or <c>{kind = "auto"}</c>.</summary>
public sealed record PromptCaching(string Kind, int? MaxBreakpoints = null);
