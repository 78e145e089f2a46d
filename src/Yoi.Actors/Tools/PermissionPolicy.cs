using System.Text.Json;
using System.Text.RegularExpressions;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;

namespace Yoi.Actors.Tools;

/// <summary>The manifest permission policy (reference-delegation §4.8): a PreToolCall hook. The target is the
/// first string argument among command, file_path, path, pattern, query, url (else the arguments' JSON); rules
/// match case-insensitively on the tool name and as a glob (<c>*</c> any run, <c>?</c> one character) on the
/// target, first match wins, else <c>default_action</c>. <c>ask</c> fails closed.</summary>
public sealed class PermissionPolicy(PermissionsSection section) : ITurnInterceptor
{
    private static readonly string[] TargetKeys = ["command", "file_path", "path", "pattern", "query", "url"];
    private readonly (PermissionRule Rule, Regex Pattern)[] _rules =
        section.Rules.Select(r => (r, WildcardRegex(r.Pattern))).ToArray();

    /// <summary>The policy for a manifest; null when it has no `[permissions]` section (the layer is off).</summary>
    public static PermissionPolicy? For(WorkerManifest manifest) => manifest.Permissions is { } p ? new PermissionPolicy(p) : null;

    public static string DeniedText(string tool) => $"permission denied: tool `{tool}` arguments matched the manifest permission policy";

    public static string AskText(string tool) =>
        $"permission ask unsupported: tool `{tool}` requires approval, but this Worker has no approval channel; denied fail-closed";

    public static string Target(JsonElement input)
    {
        if (input.ValueKind == JsonValueKind.Object)
            foreach (var key in TargetKeys)
                if (input.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString()!;
        return input.GetRawText();
    }

    public PermissionAction Decide(string tool, JsonElement input)
    {
        var target = Target(input);
        foreach (var (rule, pattern) in _rules)
            if (string.Equals(rule.Tool, tool, StringComparison.OrdinalIgnoreCase) && pattern.IsMatch(target))
                return rule.Action;
        return section.DefaultAction;
    }

    public ValueTask<PreToolDecision> PreToolCall(ToolCallInfo call)
    {
        var name = call.Call.Name;
        return ValueTask.FromResult(Decide(name, call.Input) switch
        {
            PermissionAction.Allow => PreToolDecision.Continue,
            PermissionAction.Deny => PreToolDecision.SyntheticResult(new ToolOutput(DeniedText(name)), isError: true),
            _ => PreToolDecision.SyntheticResult(new ToolOutput(AskText(name)), isError: true),
        });
    }

    private static Regex WildcardRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant);
}
