using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>A real IChatClient from a package — the OpenAI SDK's chat client <c>.AsIChatClient()</c> — against the
/// loopback stub, as scheme <c>chat_client</c>, driven through the real turn engine.</summary>
public sealed class ChatClientModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Resp F(string name) => Resp.FromFixture("openai-chat/" + name);

    /// <summary>The OpenAI SDK's own retries are off: the engine's policy owns retries.</summary>
    internal static IChatClient OpenAIChatClient(Uri stubBase) =>
        new OpenAI.Chat.ChatClient("gpt-4o-mini", new ApiKeyCredential(ProviderRig.Key),
            new OpenAIClientOptions { Endpoint = new Uri(stubBase, "/v1"), RetryPolicy = new ClientRetryPolicy(0) }).AsIChatClient();

    private sealed class Rig : IAsyncDisposable
    {
        public Rig(params Resp[] responses)
        {
            Server = new StubLlmServer(responses);
            Model = new ChatClientModel(OpenAIChatClient(Server.BaseUrl), "openai");
        }

        public StubLlmServer Server { get; }
        public ChatClientModel Model { get; }
        public FakeHost Host { get; } = new();
        public EngineState State { get; } = new();

        public Task<EngineOutcome> RunAsync(string user, CancellationToken ct, params ITool[] tools) =>
            new TurnEngine(Model, tools, Settings(), Host, State) { Delay = (_, _) => Task.CompletedTask }.RunAsync(User(user), ct);

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    [Fact]
    public async Task Text_and_usage_stream_through_the_openai_sdk_client()
    {
        await using var rig = new Rig(F("text.sse"));

        var outcome = await rig.RunAsync("Greet me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["User:Greet me", "Assistant:Hello, World!"], Texts(rig.State.History));
        Assert.Equal("Hello, World!", string.Concat(rig.Host.Of<TextDeltaEvent>().Select(e => e.Text)));
        Assert.Equal([new UsageEvent(24, 4, 0)], rig.Host.Of<UsageEvent>());
        var request = Assert.Single(rig.Server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal(["system", "user"], J.Roles(request.Json["messages"]));
        Assert.Equal(("chat_client", "gpt-4o-mini"), (rig.Model.Provider, rig.Model.Model)); // the client's default model
    }

    [Fact]
    public async Task Parallel_tool_calls_are_executed_by_the_engine_and_sent_back_through_the_client()
    {
        await using var rig = new Rig(F("parallel_tool_calls.sse"), F("text.sse"));
        var read = new FakeTool("Read");

        var outcome = await rig.RunAsync("Compare a and b", Ct, read);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"file_path\":\"a.txt\"}", "{\"file_path\":\"b.txt\"}"], read.Calls.Select(c => c.Input).Order());
        Assert.Equal(["tool-batch-0", "tool-batch-0"], read.Calls.Select(c => c.Context.BatchId));
        Assert.Equal(
            ["User:Compare a and b", "Assistant:Checking both files.", "call:call_A1:Read:{\"file_path\":\"a.txt\"}",
             "call:call_B2:Read:{\"file_path\":\"b.txt\"}", "result:call_A1:Read ok", "result:call_B2:Read ok", "Assistant:Hello, World!"],
            Texts(rig.State.History));

        var second = rig.Server.Requests[1].Json;
        Assert.Equal(["system", "user", "assistant", "tool", "tool"], J.Roles(second["messages"]));
        Assert.Equal(["call_A1", "call_B2"], J.Arr(second["messages"]![2]!["tool_calls"]).Select(c => (string)c!["id"]!));
        Assert.Equal("Read", (string?)second["tools"]![0]!["function"]!["name"]);
    }

    [Fact]
    public async Task Status_503_before_the_stream_is_retried_by_the_engine()
    {
        await using var rig = new Rig(new Resp.Error(503, """{"error":{"message":"The server is overloaded","type":"server_error"}}"""), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var retry = Assert.Single(rig.Host.Of<LlmRetryEvent>());
        Assert.Equal((ushort?)503, retry.Status);
        Assert.Equal(2, rig.Server.Requests.Count); // one by the engine's retry, none by the SDK
    }

    [Fact]
    public async Task Status_400_is_not_retried()
    {
        await using var rig = new Rig(new Resp.Error(400, """{"error":{"message":"bad request","type":"invalid_request_error"}}"""), F("text.sse"));

        var outcome = await rig.RunAsync("hi", Ct);

        Assert.Equal(400, outcome.Error!.Status);
        Assert.Empty(rig.Host.Of<LlmRetryEvent>());
        Assert.Single(rig.Server.Requests);
    }

    [Fact]
    public async Task A_response_without_a_finish_reason_is_an_interrupted_stream_and_is_continued()
    {
        var frames = Fixtures.Read("openai-chat/text.sse").Split("\n\n");
        var cut = string.Join("\n\n", frames.Where(f => f.Contains("\"content\"") && !f.Contains("\"finish_reason\":\"stop\""))) + "\n\n";
        await using var rig = new Rig(new Resp.Sse(cut), F("text.sse"));

        var outcome = await rig.RunAsync("Tell me", Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        var continuation = Assert.Single(rig.Host.Of<LlmContinuationEvent>());
        Assert.Contains("without a finish reason", continuation.Reason);
        Assert.Equal(2, rig.Server.Requests.Count);
        Assert.Equal("Assistant:Hello, World!", Texts(rig.State.History)[^1]);
    }

    [Fact]
    public async Task Cancel_mid_stream_returns_cancelled_and_nothing_reaches_history()
    {
        var prefix = string.Join("\n\n", Fixtures.Read("openai-chat/parallel_tool_calls.sse").Split("\n\n")[..2]) + "\n\n";
        await using var rig = new Rig(new Resp.Hang(prefix));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        rig.Host.OnPublish = e =>
        {
            if (e is TextDeltaEvent) cts.Cancel();
        };

        var outcome = await rig.RunAsync("hi", cts.Token, new FakeTool("Read"));

        Assert.Equal(EngineErrorKind.Cancelled, outcome.Error!.Kind);
        Assert.Equal(["User:hi"], Texts(rig.State.History));
        Assert.Empty(rig.Host.Commits);
    }

    [Fact]
    public void A_client_with_function_invocation_is_refused()
    {
        var invoking = new ChatClientBuilder(OpenAIChatClient(new Uri("http://127.0.0.1:9"))).UseFunctionInvocation().Build();

        var error = Assert.Throws<ManifestException>(() => new ChatClientModel(invoking, "azure"));

        Assert.Contains("\"azure\"", error.Message);
        Assert.Contains("FunctionInvokingChatClient", error.Message);
    }

    [Fact]
    public void An_unregistered_client_name_is_a_manifest_error_listing_the_registered_ones()
    {
        var source = new ChatClientSource(
            new Dictionary<string, Func<IServiceProvider, IChatClient>> { ["ollama"] = _ => OpenAIChatClient(new Uri("http://127.0.0.1:9")) },
            new Microsoft.Extensions.DependencyInjection.ServiceCollection().BuildServiceProvider());
        var manifest = ManifestLoader.Parse("[model]\nscheme = \"chat_client\"\nclient = \"azure\"\n", Path.GetTempPath());

        var error = Assert.Throws<ManifestException>(() => source.Wrap(ModelClients.Create)(manifest, "w"));

        Assert.Contains("\"azure\"", error.Message);
        Assert.Contains("ollama", error.Message);
        Assert.Contains("client is required", Assert.Throws<ManifestException>(() =>
            ManifestLoader.Parse("[model]\nscheme = \"chat_client\"\n", Path.GetTempPath())).Message);
    }

    [Fact]
    public void A_keyed_chat_client_service_is_found_by_name()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddKeyedChatClient("local", _ => OpenAIChatClient(new Uri("http://127.0.0.1:9")));
        var source = new ChatClientSource(new Dictionary<string, Func<IServiceProvider, IChatClient>>(), services.BuildServiceProvider());
        var manifest = ManifestLoader.Parse("[model]\nscheme = \"chat_client\"\nclient = \"local\"\nmodel_id = \"llama3.3\"\n", Path.GetTempPath());

        var model = Assert.IsType<ChatClientModel>(source.Wrap(ModelClients.Create)(manifest, "w"));

        Assert.Equal(("local", "llama3.3"), (model.Name, model.Model));
    }
}
