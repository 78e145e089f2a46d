using System.Reflection;
using Tomlyn;
using Tomlyn.Model;
using Yoi.Actors.Manifest;

namespace Yoi.Actors.Providers;

/// <summary>A capability given field by field (catalog provider, catalog model, manifest): each layer overrides
/// only the fields it sets.</summary>
public sealed record CapabilityPatch(
    string? ToolCalling = null,
    string? StructuredOutput = null,
    string? Reasoning = null,
    bool? Vision = null,
    PromptCaching? PromptCaching = null)
{
    /// <summary>This patch over <paramref name="lower"/>.</summary>
    public CapabilityPatch Over(CapabilityPatch? lower) => lower is null ? this : new(
        ToolCalling ?? lower.ToolCalling,
        StructuredOutput ?? lower.StructuredOutput,
        Reasoning ?? lower.Reasoning,
        Vision ?? lower.Vision,
        PromptCaching ?? lower.PromptCaching);

    /// <summary>Unset fields take §3.1's defaults (parallel tools, json_schema, no reasoning, no vision, caching
    /// unknown); <c>reasoning = "none"</c> states "no reasoning controls" over a lower layer.</summary>
    public ModelCapability ToCapability() => new(
        ToolCalling ?? "parallel",
        StructuredOutput ?? "json_schema",
        Reasoning is null or "none" ? null : Reasoning,
        Vision ?? false,
        PromptCaching);

    private static readonly string[] ToolCallings = ["none", "sequential", "parallel"];
    private static readonly string[] StructuredOutputs = ["none", "json_object", "json_schema"];
    private static readonly string[] Reasonings = ["none", "effort", "budget_tokens", "both"];

    /// <summary>Reads a <c>capability</c> table; <paramref name="at"/> names it in errors.</summary>
    public static CapabilityPatch? From(TomlTable? t, string at)
    {
        if (t is null) return null;
        foreach (var key in t.Keys)
            if (key is not ("tool_calling" or "structured_output" or "reasoning" or "vision" or "prompt_caching"))
                throw new ManifestException($"{at}.{key} is not a known capability (tool_calling, structured_output, reasoning, vision, prompt_caching)");
        PromptCaching? caching = null;
        if (t.TryGetValue("prompt_caching", out var pc))
        {
            if (pc is not TomlTable pt) throw new ManifestException($"{at}.prompt_caching must be a table {{kind = \"explicit\" | \"auto\"}}");
            var kind = Str(pt, "kind", at + ".prompt_caching") ?? throw new ManifestException($"{at}.prompt_caching.kind is required");
            if (kind is not ("explicit" or "auto")) throw new ManifestException($"{at}.prompt_caching.kind must be \"explicit\" or \"auto\" (got \"{kind}\")");
            int? max = null;
            if (pt.TryGetValue("max_breakpoints", out var m))
                max = m is long l && l > 0 ? (int)l : throw new ManifestException($"{at}.prompt_caching.max_breakpoints must be a positive integer");
            caching = new PromptCaching(kind, max);
        }
        bool? vision = null;
        if (t.TryGetValue("vision", out var v)) vision = v as bool? ?? throw new ManifestException($"{at}.vision must be true or false");
        return new CapabilityPatch(
            OneOf(t, "tool_calling", at, ToolCallings),
            OneOf(t, "structured_output", at, StructuredOutputs),
            OneOf(t, "reasoning", at, Reasonings),
            vision,
            caching);
    }

    private static string? OneOf(TomlTable t, string key, string at, string[] allowed)
    {
        var value = Str(t, key, at);
        if (value is not null && !allowed.Contains(value))
            throw new ManifestException($"{at}.{key} must be one of {string.Join(", ", allowed)} (got \"{value}\")");
        return value;
    }

    internal static string? Str(TomlTable t, string key, string at) => t.TryGetValue(key, out var v)
        ? v as string ?? throw new ManifestException($"{at}.{key} must be a string")
        : null;
}

/// <summary>A catalog model: its window, an optional ceiling on the window actually used, its capability over the
/// provider's.</summary>
public sealed record CatalogModel(string Id, ulong? ContextWindow = null, ulong? MaxContextWindow = null, CapabilityPatch? Capability = null);

/// <summary>A catalog provider: the scheme it speaks, where and how, and defaults for its models.</summary>
public sealed record CatalogProvider(
    string Id,
    string Scheme,
    string? BaseUrl,
    string? ApiKeyEnv,
    string? Client,
    ulong? ContextWindow,
    CapabilityPatch? Capability,
    IReadOnlyDictionary<string, CatalogModel> Models);

/// <summary>What a <c>provider/model</c> ref resolves to (before the manifest's own overrides).</summary>
public sealed record ResolvedModel(
    string Provider,
    string Scheme,
    string ModelId,
    string? BaseUrl,
    string? ApiKeyEnv,
    string? Client,
    ulong? ContextWindow,
    ulong? MaxContextWindow,
    CapabilityPatch Capability);

/// <summary>The provider and model catalog (reference-engine §3.6): the built-in <c>catalog.toml</c> shipped in this
/// assembly, extended or overridden by <c>&lt;home&gt;/catalog.toml</c> (merged key by key, the home file winning).
/// Immutable; resolution is a pure function of the catalog and the ref.</summary>
public sealed class ModelCatalog
{
    public const string HomeFileName = "catalog.toml";

    private static readonly string[] Schemes = ["anthropic", "openai_chat", "openai_responses", "gemini", "chat_client"];

    private ModelCatalog(IReadOnlyDictionary<string, CatalogProvider> providers) => Providers = providers;

    public IReadOnlyDictionary<string, CatalogProvider> Providers { get; }

    /// <summary>The catalog shipped with the project.</summary>
    public static ModelCatalog Builtin { get; } = Parse([(BuiltinText(), "built-in catalog")]);

    public static string BuiltinText()
    {
        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream("Yoi.Actors.catalog.toml")
                           ?? throw new InvalidOperationException("the built-in catalog resource is missing from Yoi.Actors");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The built-in catalog, with <c>&lt;home&gt;/catalog.toml</c> over it when that file exists. A broken home
    /// file is an error naming the file (the node should not start with a catalog it cannot read).</summary>
    public static ModelCatalog ForHome(string? home)
    {
        var file = home is null ? null : Path.Combine(home, HomeFileName);
        if (file is null || !File.Exists(file)) return Builtin;
        return Parse([(BuiltinText(), "built-in catalog"), (File.ReadAllText(file), file)]);
    }

    /// <summary>Layers lowest first; each is named in errors by its <c>Source</c>.</summary>
    public static ModelCatalog Parse(IReadOnlyList<(string Toml, string Source)> layers)
    {
        var merged = new TomlTable();
        foreach (var (toml, source) in layers)
        {
            TomlTable table;
            try
            {
                table = TomlSerializer.Deserialize<TomlTable>(toml) ?? new TomlTable();
            }
            catch (Exception e)
            {
                throw new ManifestException($"{source} is not valid TOML: {e.Message}");
            }
            foreach (var key in table.Keys)
                if (key != "providers") throw new ManifestException($"{source}: unknown key `{key}` (expected [providers.<id>])");
            try
            {
                // validate each layer on its own so an error names the file it is in
                Build(table, requireScheme: false);
            }
            catch (ManifestException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                throw new ManifestException($"{source}: {e.Message}");
            }
            merged = ManifestLoader.Merge(merged, table);
        }
        try
        {
            return new ModelCatalog(Build(merged, requireScheme: true));
        }
        catch (ManifestException e)
        {
            throw new ManifestException($"{layers[^1].Source}: {e.Message}");
        }
    }

    private static Dictionary<string, CatalogProvider> Build(TomlTable root, bool requireScheme)
    {
        var result = new Dictionary<string, CatalogProvider>(StringComparer.Ordinal);
        if (!root.TryGetValue("providers", out var p)) return result;
        if (p is not TomlTable providers) throw new ManifestException("providers must be a table of [providers.<id>]");
        foreach (var (id, value) in providers)
        {
            var at = $"providers.{id}";
            if (value is not TomlTable t) throw new ManifestException($"{at} must be a table");
            if (id.Contains('/')) throw new ManifestException($"{at}: a provider id cannot contain '/'");
            foreach (var key in t.Keys)
                if (key is not ("scheme" or "base_url" or "api_key_env" or "client" or "context_window" or "capability" or "models"))
                    throw new ManifestException($"{at}.{key} is not a known provider key");
            var scheme = CapabilityPatch.Str(t, "scheme", at);
            // a home layer may change one field of a built-in provider without restating its scheme
            if (scheme is not null && !Schemes.Contains(scheme))
                throw new ManifestException($"{at}.scheme must be one of {string.Join(", ", Schemes)} (got \"{scheme}\")");
            var models = new Dictionary<string, CatalogModel>(StringComparer.Ordinal);
            if (t.TryGetValue("models", out var m))
            {
                if (m is not TomlTable mt) throw new ManifestException($"{at}.models must be a table of [{at}.models.\"<id>\"]");
                foreach (var (modelId, mv) in mt)
                {
                    var mat = $"{at}.models.\"{modelId}\"";
                    if (mv is not TomlTable model) throw new ManifestException($"{mat} must be a table");
                    foreach (var key in model.Keys)
                        if (key is not ("context_window" or "max_context_window" or "capability"))
                            throw new ManifestException($"{mat}.{key} is not a known model key");
                    models[modelId] = new CatalogModel(modelId, Window(model, "context_window", mat), Window(model, "max_context_window", mat),
                        CapabilityPatch.From(Table(model, "capability", mat), mat + ".capability"));
                }
            }
            result[id] = new CatalogProvider(id, scheme ?? "", CapabilityPatch.Str(t, "base_url", at), CapabilityPatch.Str(t, "api_key_env", at),
                CapabilityPatch.Str(t, "client", at), Window(t, "context_window", at), CapabilityPatch.From(Table(t, "capability", at), at + ".capability"),
                models);
        }
        foreach (var provider in result.Values)
            if (requireScheme && provider.Scheme.Length == 0) throw new ManifestException($"providers.{provider.Id}.scheme is required");
        return result;
    }

    private static ulong? Window(TomlTable t, string key, string at) => t.TryGetValue(key, out var v)
        ? v is long l && l > 0 ? (ulong)l : throw new ManifestException($"{at}.{key} must be a positive integer")
        : null;

    private static TomlTable? Table(TomlTable t, string key, string at) => t.TryGetValue(key, out var v)
        ? v as TomlTable ?? throw new ManifestException($"{at}.{key} must be a table")
        : null;

    /// <summary>Resolves <c>provider/model</c>, split at the first <c>/</c> (model ids may contain <c>/</c>). An unknown
    /// provider or model is a manifest error naming the whole ref and what is known.</summary>
    public ResolvedModel Resolve(string modelRef)
    {
        var slash = modelRef.IndexOf('/');
        if (slash <= 0 || slash == modelRef.Length - 1)
            throw new ManifestException($"model.ref must be \"<provider>/<model_id>\" (got \"{modelRef}\")");
        var providerId = modelRef[..slash];
        var modelId = modelRef[(slash + 1)..];
        if (!Providers.TryGetValue(providerId, out var provider))
            throw new ManifestException(
                $"model.ref \"{modelRef}\": unknown provider \"{providerId}\" (known: {string.Join(", ", Providers.Keys.Order(StringComparer.Ordinal))}; " +
                $"add it to {HomeFileName} in the node's home, or give [model] scheme and model_id)");
        if (!provider.Models.TryGetValue(modelId, out var model))
            throw new ManifestException(
                $"model.ref \"{modelRef}\": provider \"{providerId}\" has no model \"{modelId}\" (known: " +
                $"{string.Join(", ", provider.Models.Keys.Order(StringComparer.Ordinal))}; add it under [providers.{providerId}.models] in {HomeFileName})");
        var capability = (model.Capability ?? new CapabilityPatch()).Over(provider.Capability);
        return new ResolvedModel(provider.Id, provider.Scheme, modelId, provider.BaseUrl, provider.ApiKeyEnv, provider.Client,
            model.ContextWindow ?? provider.ContextWindow, model.MaxContextWindow, capability);
    }

    /// <summary>§3.6: manifest value, else model entry, else provider default, else 200,000; then clamped by
    /// <c>max_context_window</c>.</summary>
    public static ulong EffectiveWindow(ulong? manifest, ulong? catalog, ulong? max) =>
        Math.Min(manifest ?? catalog ?? WorkerManifest.DefaultContextWindow, max ?? ulong.MaxValue);
}
