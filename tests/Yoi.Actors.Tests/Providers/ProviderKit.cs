using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Providers;

/// <summary>A real provider client against a <see cref="StubLlmServer"/>, driven through the real
/// <see cref="TurnEngine"/> with a <see cref="FakeHost"/>; back-off sleeps are recorded, not slept.</summary>
internal sealed class ProviderRig : IAsyncDisposable
{
    public const string Key = "sk-test-SECRET-4f9d2c7a1b";

    public ProviderRig(string scheme, params StubResponse[] responses) : this(scheme, Key, responses) { }

    public ProviderRig(string scheme, string? key, params StubResponse[] responses) : this(scheme, key, null, responses) { }

    public ProviderRig(string scheme, string? key, ModelCapability? capability, params StubResponse[] responses)
    {
        Server = new StubLlmServer(responses);
        var baseUrl = scheme == "openai_responses" ? new Uri(Server.BaseUrl, "/v1") : Server.BaseUrl;
        var model = scheme switch { "anthropic" => "claude-sonnet-4-5", "gemini" => "gemini-2.5-flash", _ => "gpt-4o-mini" };
        var settings = new ProviderSettings(scheme, model, baseUrl, key, capability);
        Client = scheme switch
        {
            "anthropic" => new AnthropicClient(settings),
            "gemini" => new GeminiClient(settings),
            "openai_chat" => new OpenAIChatClient(settings),
            _ => new OpenAIResponsesClient(settings),
        };
    }

    public StubLlmServer Server { get; }
    public HttpModelClient Client { get; }
    public FakeHost Host { get; } = new();
    public EngineState State { get; } = new();
    public List<TimeSpan> Delays { get; } = [];

    /// <summary>Request configuration for the runs (reasoning, max tokens…).</summary>
    public RequestConfig Config { get; set; } = RequestConfig.Default;

    public TurnEngine Engine(params ITool[] tools) => new(Client, tools, Kit.Settings() with { Config = Config }, Host, State)
    {
        Delay = (wait, _) =>
        {
            lock (Delays) Delays.Add(wait);
            return Task.CompletedTask;
        },
    };

    public Task<EngineOutcome> RunAsync(string user, CancellationToken ct, params ITool[] tools) =>
        Engine(tools).RunAsync(Kit.User(user), ct);

    public IReadOnlyList<StubRequest> Requests => Server.Requests;

    /// <summary>Every event the engine published, as wire JSON lines.</summary>
    public string EventText => string.Join("\n", Host.Events.Select(e => e.Encode()));

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

internal static class J
{
    public static string Compact(JsonNode? node) => node?.ToJsonString(Yoi.Actors.Providers.HttpModelClient.WireJson) ?? "null";

    /// <summary>A built body as the server would parse it (numbers of any CLR type readable as int).</summary>
    public static JsonObject Wire(JsonObject body) => (JsonObject)JsonNode.Parse(Compact(body))!;

    public static JsonArray Arr(JsonNode? node) => (JsonArray)node!;

    public static string[] Roles(JsonNode? messages) => Arr(messages).Select(m => (string)m!["role"]!).ToArray();
}
