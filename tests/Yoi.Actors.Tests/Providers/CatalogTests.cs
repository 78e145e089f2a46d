using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Providers;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Providers;

/// <summary>The provider/model catalog: `[model] ref` resolution, the effective window, capabilities driving the
/// request mapping, the home file over the built-in catalog, and clear errors.</summary>
public sealed class CatalogTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("yoi-catalog").FullName;

    /// <summary>The built-in providers name their key variables; building a client reads them (a value nothing sends).</summary>
    static CatalogTests()
    {
        foreach (var variable in new[] { "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "GEMINI_API_KEY" })
            if (Environment.GetEnvironmentVariable(variable) is null) Environment.SetEnvironmentVariable(variable, "catalog-test-key");
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static WorkerManifest Manifest(string modelToml, ModelCatalog? catalog = null) =>
        ManifestLoader.Parse("[model]\n" + modelToml + "\n", Path.GetTempPath(), catalog);

    private static string Error(Action action) => Assert.Throws<ManifestException>(action).Message;

    private ModelCatalog Home(string toml)
    {
        File.WriteAllText(Path.Combine(_home, ModelCatalog.HomeFileName), toml);
        return ModelCatalog.ForHome(_home);
    }

    [Fact]
    public void A_ref_splits_at_the_first_slash_and_takes_the_providers_scheme_url_key_variable_and_the_models_window()
    {
        var m = Manifest("ref = \"openrouter/anthropic/claude-opus-4.8\"");

        Assert.Equal(("openrouter", "openai_chat", "anthropic/claude-opus-4.8"), (m.Model.Provider, m.Model.Scheme, m.Model.ModelId));
        Assert.Equal(("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"), (m.Model.BaseUrl, m.Model.ApiKeyEnv));
        Assert.Equal(1_000_000UL, m.ContextWindow);
        Assert.True(m.Model.Capability!.Vision);
    }

    [Fact]
    public void The_manifests_own_fields_win_over_the_catalog()
    {
        var m = Manifest("""
            ref = "anthropic/claude-haiku-4-5"
            base_url = "http://127.0.0.1:9"
            api_key_env = "MY_KEY"
            context_window = 50000
            capability = { vision = false }
            """);

        Assert.Equal(("http://127.0.0.1:9", "MY_KEY", 50_000UL), (m.Model.BaseUrl, m.Model.ApiKeyEnv, m.ContextWindow));
        Assert.False(m.Model.Capability!.Vision);
        Assert.Equal("budget_tokens", m.Model.Capability.Reasoning); // the other fields stay the catalog's
        Assert.True(m.Model.Capability.ExplicitCaching);
    }

    [Fact]
    public void The_window_is_the_models_else_the_providers_default_else_200000()
    {
        var catalog = Home("""
            [providers.lab]
            scheme = "openai_chat"
            base_url = "http://127.0.0.1:9/v1"
            context_window = 64000
            [providers.lab.models."big"]
            context_window = 500000
            [providers.lab.models."plain"]

            [providers.bare]
            scheme = "openai_chat"
            [providers.bare.models."m"]
            """);

        Assert.Equal(500_000UL, Manifest("ref = \"lab/big\"", catalog).ContextWindow);
        Assert.Equal(64_000UL, Manifest("ref = \"lab/plain\"", catalog).ContextWindow);
        Assert.Equal(200_000UL, Manifest("ref = \"bare/m\"", catalog).ContextWindow);
        Assert.Equal(200_000UL, Manifest("scheme = \"openai_chat\"\nmodel_id = \"x\"").ContextWindow); // inline, nothing said
    }

    [Fact]
    public void Max_context_window_clamps_the_catalog_window_and_the_manifests()
    {
        Assert.Equal(272_000UL, Manifest("ref = \"codex-oauth/gpt-5.6-sol\"").ContextWindow); // 1,050,000 clamped
        Assert.Equal(272_000UL, Manifest("ref = \"codex-oauth/gpt-5.6-sol\"\ncontext_window = 2000000").ContextWindow);
        Assert.Equal(100_000UL, Manifest("ref = \"anthropic/claude-opus-4-8\"\nmax_context_window = 100000").ContextWindow);
        Assert.Equal(ModelCatalog.EffectiveWindow(null, null, null), WorkerManifest.DefaultContextWindow);
    }

    [Fact]
    public void Compaction_ratios_use_the_effective_window()
    {
        var m = ManifestLoader.Parse("""
            [model]
            ref = "codex-oauth/gpt-5.6-sol"
            [compaction]
            """, Path.GetTempPath());
        Assert.Equal(272_000UL, m.ContextWindow);
        Assert.NotNull(m.Compaction);
    }

    [Theory]
    [InlineData("nope/some-model", "unknown provider \"nope\"")]
    [InlineData("anthropic/claude-nope-9", "provider \"anthropic\" has no model \"claude-nope-9\"")]
    public void An_unknown_ref_is_a_manifest_error_naming_the_whole_ref(string modelRef, string detail)
    {
        var message = Error(() => Manifest($"ref = \"{modelRef}\""));
        Assert.Contains($"\"{modelRef}\"", message);
        Assert.Contains(detail, message);
        Assert.Contains(ModelCatalog.HomeFileName, message); // says how to add it
    }

    [Theory]
    [InlineData("ref = \"anthropic\"", "<provider>/<model_id>")]
    [InlineData("ref = \"anthropic/claude-haiku-4-5\"\nscheme = \"anthropic\"", "cannot be combined")]
    [InlineData("ref = \"anthropic/claude-haiku-4-5\"\ncapability = { vision = \"yes\" }", "model.capability.vision")]
    [InlineData("ref = \"anthropic/claude-haiku-4-5\"\ncapability = { reasoning = \"lots\" }", "model.capability.reasoning")]
    [InlineData("ref = \"anthropic/claude-haiku-4-5\"\nmax_context_window = 0", "max_context_window")]
    public void Bad_model_sections_are_rejected_naming_the_key(string toml, string key) =>
        Assert.Contains(key, Error(() => Manifest(toml)));

    [Fact]
    public void The_home_file_adds_providers_and_models_and_changes_one_field_of_a_builtin_provider()
    {
        var catalog = Home("""
            [providers.anthropic]
            base_url = "https://anthropic-proxy.internal"
            [providers.anthropic.models."claude-next"]
            context_window = 300000
            """);

        var m = Manifest("ref = \"anthropic/claude-next\"", catalog);
        Assert.Equal(("anthropic", "https://anthropic-proxy.internal", 300_000UL), (m.Model.Scheme, m.Model.BaseUrl, m.ContextWindow));
        Assert.Equal(1_000_000UL, Manifest("ref = \"anthropic/claude-opus-4-8\"", catalog).ContextWindow); // built-ins kept
        Assert.Contains("claude-next", Error(() => Manifest("ref = \"anthropic/claude-next\""))); // not in the built-in one
    }

    [Fact]
    public void A_broken_home_file_is_an_error_naming_the_file_and_the_key()
    {
        var file = Path.Combine(_home, ModelCatalog.HomeFileName);
        File.WriteAllText(file, "[providers.lab]\nscheme = \"carrier_pigeon\"\n[providers.lab.models.\"m\"]\n");
        var message = Error(() => ModelCatalog.ForHome(_home));
        Assert.Contains(file, message);
        Assert.Contains("providers.lab.scheme", message);

        File.WriteAllText(file, "[providers.lab]\n[providers.lab.models.\"m\"]\n");
        Assert.Contains("providers.lab.scheme is required", Error(() => ModelCatalog.ForHome(_home)));

        File.WriteAllText(file, "not toml ===");
        Assert.Contains("not valid TOML", Error(() => ModelCatalog.ForHome(_home)));
    }

    [Fact]
    public void No_home_file_is_the_builtin_catalog()
    {
        Assert.Same(ModelCatalog.Builtin, ModelCatalog.ForHome(_home));
        Assert.Equal(["anthropic", "codex-oauth", "gemini", "ollama-local", "openrouter"], ModelCatalog.Builtin.Providers.Keys.Order(StringComparer.Ordinal));
    }

    // ------------------------------------------------------------------ capability-driven mapping

    private static ModelRequest Request(params HistoryItem[] items) =>
        new("sys", items, [], RequestConfig.Default, CacheAnchor: null);

    private static readonly HistoryItem[] Conversation =
    [
        MessageItem.Text(Role.User, "first"),
        MessageItem.Text(Role.Assistant, "answer"),
        MessageItem.Text(Role.User, "second"),
    ];

    private static int CacheMarks(JsonObject body) =>
        J.Arr(body["messages"]).SelectMany(m => J.Arr(m!["content"])).Count(p => p!["cache_control"] is not null);

    [Fact]
    public void An_anthropic_ref_sets_explicit_cache_breakpoints_whatever_host_it_points_at()
    {
        var m = Manifest("ref = \"anthropic/claude-haiku-4-5\"\nbase_url = \"http://127.0.0.1:9\"");
        var client = Assert.IsType<AnthropicClient>(ModelClients.Create(m, "w"));

        Assert.True(client.ExplicitCaching);
        Assert.Equal(2, CacheMarks(client.BuildBody(Request(Conversation)))); // before the last user message + the final item

        // the same host without the capability (inline [model]): the host heuristic, no breakpoints
        var inline = new AnthropicClient(new ProviderSettings("anthropic", "m", new Uri("http://127.0.0.1:9")));
        Assert.Equal(0, CacheMarks(inline.BuildBody(Request(Conversation))));
    }

    [Fact]
    public void Automatic_caching_sets_no_breakpoints_and_max_breakpoints_limits_them()
    {
        var auto = (AnthropicClient)ModelClients.Create(Manifest("ref = \"anthropic/claude-haiku-4-5\"\ncapability = { prompt_caching = { kind = \"auto\" } }"), "w");
        Assert.Equal(0, CacheMarks(auto.BuildBody(Request(Conversation))));

        var one = (AnthropicClient)ModelClients.Create(Manifest(
            "ref = \"anthropic/claude-haiku-4-5\"\ncapability = { prompt_caching = { kind = \"explicit\", max_breakpoints = 1 } }"), "w");
        var body = one.BuildBody(Request(Conversation));
        Assert.Equal(1, CacheMarks(body));
        Assert.NotNull(J.Arr(J.Arr(body["messages"])[^1]!["content"])[^1]!["cache_control"]); // the final item is kept
    }

    private static readonly HistoryItem[] WithImage =
    [
        MessageItem.Text(Role.User, "look"),
        new ToolCallItem("c1", "Read", "{\"file_path\":\"a.png\"}"),
        new ToolResultItem("c1", "read image", Attachments: [new ImageAttachment("image/png", "iVBORw0KGgo=")]),
    ];

    [Fact]
    public void A_non_vision_model_gets_an_image_note_and_a_vision_model_the_image()
    {
        var blind = (OpenAIChatClient)ModelClients.Create(Manifest("scheme = \"openai_chat\"\nmodel_id = \"m\"\ncapability = { vision = false }"), "w");
        var last = J.Arr(blind.BuildBody(Request(WithImage))["messages"])[^1]!;
        Assert.Equal("[1 image attachment(s) omitted: model does not support images]", (string?)last["content"]);

        var seeing = (OpenAIChatClient)ModelClients.Create(Manifest("ref = \"openrouter/openai/gpt-5.5\""), "w");
        var image = J.Arr(seeing.BuildBody(Request(WithImage))["messages"])[^1]!;
        Assert.Equal("user", (string?)image["role"]);
        Assert.Equal("data:image/png;base64,iVBORw0KGgo=", (string?)image["content"]![0]!["image_url"]!["url"]);
    }

    [Fact]
    public void Reasoning_is_sent_only_in_the_form_the_model_takes()
    {
        var effort = System.Text.Json.JsonSerializer.SerializeToElement("high");
        var budget = System.Text.Json.JsonSerializer.SerializeToElement(2048);
        ModelRequest With(System.Text.Json.JsonElement r) => new("sys", Conversation, [], RequestConfig.Default with { Reasoning = r });

        var responses = (OpenAIResponsesClient)ModelClients.Create(Manifest("ref = \"codex-oauth/gpt-5.5\""), "w");
        Assert.Equal("high", (string?)responses.BuildBody(With(effort))["reasoning"]!["effort"]);

        var claude = (AnthropicClient)ModelClients.Create(Manifest("ref = \"anthropic/claude-sonnet-4-6\""), "w");
        Assert.Equal(2048L, (long)claude.BuildBody(With(budget))["thinking"]!["budget_tokens"]!);
        var noReasoning = (AnthropicClient)ModelClients.Create(Manifest("ref = \"anthropic/claude-sonnet-4-6\"\ncapability = { reasoning = \"none\" }"), "w");
        Assert.Null(noReasoning.BuildBody(With(budget))["thinking"]);

        var router = (OpenAIChatClient)ModelClients.Create(Manifest("ref = \"openrouter/openai/gpt-5.5\""), "w"); // no reasoning capability
        Assert.Null(router.BuildBody(With(effort))["reasoning_effort"]);
    }

    [Fact]
    public void Sequential_tool_calling_turns_parallel_tool_calls_off()
    {
        var tools = new[] { new ToolDefinition("Read", "read", System.Text.Json.JsonDocument.Parse("{\"type\":\"object\"}").RootElement) };
        var request = new ModelRequest("sys", Conversation, tools, RequestConfig.Default);
        var seq = (OpenAIResponsesClient)ModelClients.Create(Manifest("ref = \"codex-oauth/gpt-5.5\"\ncapability = { tool_calling = \"sequential\" }"), "w");
        Assert.False((bool)seq.BuildBody(request)["parallel_tool_calls"]!);
        var par = (OpenAIResponsesClient)ModelClients.Create(Manifest("ref = \"codex-oauth/gpt-5.5\""), "w");
        Assert.True((bool)par.BuildBody(request)["parallel_tool_calls"]!);
    }

    [Fact]
    public void The_resolved_model_is_what_is_journaled()
    {
        var m = Manifest("ref = \"codex-oauth/gpt-5.6-sol\"");
        var back = WorkerManifest.FromJson(m.ToJson());
        Assert.Equal(m.Model, back.Model);
        Assert.Equal(272_000UL, back.ContextWindow);
    }

    [Fact]
    public void The_engine_reasoning_key_reaches_the_manifest_as_a_word_or_a_budget()
    {
        var word = ManifestLoader.Parse("[model]\nscheme = \"gemini\"\nmodel_id = \"m\"\n[engine]\nreasoning = \"high\"\n", Path.GetTempPath());
        Assert.Equal("high", word.Engine.Reasoning!.Value.GetString());
        var budget = ManifestLoader.Parse("[model]\nscheme = \"gemini\"\nmodel_id = \"m\"\n[engine]\nreasoning = 4096\n", Path.GetTempPath());
        Assert.Equal(4096, budget.Engine.Reasoning!.Value.GetInt32());
        Assert.Contains("engine.reasoning", Error(() => ManifestLoader.Parse("[model]\nscheme = \"gemini\"\nmodel_id = \"m\"\n[engine]\nreasoning = \"max\"\n", Path.GetTempPath())));
    }
}
