using System.Text.Json;
using Tomlyn.Model;
using Yoi.Actors.Providers;

namespace Yoi.Actors.Manifest;

public static partial class ManifestLoader
{
    /// <summary>`[model]`: either <c>ref = "provider/model"</c> resolved in the catalog (its base URL, key variable,
    /// window, capability), or an inline <c>scheme</c> + <c>model_id</c>. The manifest's own <c>base_url</c>,
    /// <c>api_key_env</c>, <c>client</c>, <c>context_window</c>, <c>max_context_window</c> and
    /// <c>[model.capability]</c> (field by field) win over the catalog's.</summary>
    private static ModelSection ModelOf(TomlTable model, string baseDir, ModelCatalog catalog)
    {
        var scheme = Str(model, "model.scheme");
        var modelId = Str(model, "model.model_id");
        var ctx = Long(model, "model.context_window");
        if (ctx is <= 0) throw new ManifestException("[model] context_window must be > 0");
        var max = Long(model, "model.max_context_window");
        if (max is <= 0) throw new ManifestException("[model] max_context_window must be > 0");
        var capability = CapabilityPatch.From(Table(model, "capability", "model.capability"), "model.capability");
        var client = Str(model, "model.client");

        ResolvedModel? resolved = null;
        if (Str(model, "model.ref") is { } modelRef)
        {
            if (scheme is not null || modelId is not null)
                throw new ManifestException($"[model] ref \"{modelRef}\" cannot be combined with scheme or model_id (use one or the other)");
            resolved = catalog.Resolve(modelRef);
            scheme = resolved.Scheme;
            modelId = resolved.ModelId;
        }
        if (scheme is null) throw new ManifestException("[model] scheme (or ref = \"provider/model\") is required");
        if (!Schemes.Contains(scheme))
            throw new ManifestException($"[model] scheme must be one of {string.Join(", ", Schemes)} (got \"{scheme}\")");

        var script = Str(model, "model.script");
        if (scheme == "scripted")
        {
            if (script is null) throw new ManifestException("[model] script is required when scheme = \"scripted\"");
            script = Path.GetFullPath(Path.Combine(baseDir, script));
        }
        client ??= resolved?.Client;
        if (scheme == "chat_client" && string.IsNullOrWhiteSpace(client))
            throw new ManifestException("[model] client is required when scheme = \"chat_client\" (the name the IChatClient was registered under)");

        var merged = capability?.Over(resolved?.Capability) ?? resolved?.Capability;
        return new ModelSection(
            scheme,
            modelId,
            Str(model, "model.base_url") ?? resolved?.BaseUrl,
            Str(model, "model.api_key_env") ?? resolved?.ApiKeyEnv,
            (ulong?)ctx ?? resolved?.ContextWindow,
            script,
            resolved?.Provider,
            (ulong?)max ?? resolved?.MaxContextWindow,
            merged?.ToCapability(),
            client);
    }

    private static long? Long(TomlTable? t, string path) => t is not null && t.TryGetValue(path[(path.LastIndexOf('.') + 1)..], out var v)
        ? v as long? ?? throw new ManifestException($"{path} must be an integer")
        : null;

    /// <summary>`[engine] reasoning`: an effort word (<c>minimal</c>, <c>low</c>, <c>medium</c>, <c>high</c>, <c>xhigh</c>)
    /// or a positive token budget; the scheme maps it as the model's capability allows.</summary>
    private static JsonElement? ReasoningOf(TomlTable? engine)
    {
        if (engine is null || !engine.TryGetValue("reasoning", out var v)) return null;
        return v switch
        {
            long l when l > 0 => JsonSerializer.SerializeToElement(l),
            string s when s is "minimal" or "low" or "medium" or "high" or "xhigh" => JsonSerializer.SerializeToElement(s),
            _ => throw new ManifestException("engine.reasoning must be minimal, low, medium, high, xhigh or a positive token budget"),
        };
    }
}
