using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>A Worker on a real node (<c>AddYoiNode(options, o => o.AddChatClient(…))</c>, SQLite journal,
/// <c>serialize-messages = on</c>) whose model is the OpenAI SDK's IChatClient over the loopback stub; its tools are
/// the builtin ones (the engine's, with the manifest's scope).</summary>
public sealed class ChatClientWorkerTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("yoi-chatclient").FullName;
    private readonly StubLlmServer _stub = new();
    private IHost? _host;
    private ActorSystem _system = null!;
    private IActorRef _region = null!;

    private string Workspace => Path.Combine(_home, "ws");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Workspace);
        File.WriteAllText(Path.Combine(Workspace, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(Workspace, "b.txt"), "beta\n");
        var runtime = WorkerRuntime.Default with { Retry = new RetryPolicy(TimeSpan.Zero, TimeSpan.Zero, 4, TimeSpan.FromSeconds(40)) };
        _host = new HostBuilder()
            .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                b.AddYoiNode(new YoiNodeOptions { Home = _home, SerializeMessages = true },
                    o => o.AddChatClient("openai", _ => ChatClientModelTests.OpenAIChatClient(_stub.BaseUrl)), runtime)))
            .Build();
        await _host.StartAsync();
        _system = _host.Services.GetRequiredService<ActorSystem>();
        _region = await _host.Services.GetRequiredService<ActorRegistry>().GetAsync<WorkerRegion>();
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
        await _stub.DisposeAsync();
        try { Directory.Delete(_home, true); } catch (IOException) { }
    }

    private string Manifest => $"""
        [worker]
        workspace = "{Workspace}"

        [model]
        scheme = "chat_client"
        client = "openai"
        context_window = 64000

        [[scope.allow]]
        target = "{Workspace}"
        permission = "read"
        """;

    [Fact(Timeout = 60_000)]
    public async Task A_worker_runs_text_parallel_tool_calls_usage_and_a_503_retry_through_a_registered_chat_client()
    {
        _stub.Enqueue(
            new Resp.Error(503, """{"error":{"message":"The server is overloaded","type":"server_error"}}"""),
            Resp.FromFixture("openai-chat/parallel_tool_calls.sse"),
            Resp.FromFixture("openai-chat/text.sse"));
        await using var client = new WorkerClient(_system, _region);
        var snapshot = await client.AttachAsync("cc-1", Manifest, Workspace);
        Assert.Equal(("chat_client", "gpt-4o-mini", 64000UL), (snapshot.Greeting.Provider, snapshot.Greeting.Model, snapshot.Greeting.ContextWindow));

        client.Run("Compare a and b");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle, TimeSpan.FromSeconds(30));
        var diagnostics = string.Join("\n", seen);

        Assert.Contains(new RunEndEvent(RunResult.Finished), seen);
        var retry = Assert.Single(seen.OfType<LlmRetryEvent>());
        Assert.Equal((ushort?)503, retry.Status);
        var results = seen.OfType<ToolResultEvent>().ToList();
        Assert.Equal(["call_A1", "call_B2"], results.Select(r => r.Id).Order());
        Assert.All(results, r => Assert.False(r.IsError, diagnostics)); // the builtin Read ran, in scope
        Assert.Contains(new TextDoneEvent("Hello, World!"), seen);
        Assert.Equal([new UsageEvent(200, 40, 0), new UsageEvent(24, 4, 0)], seen.OfType<UsageEvent>());

        Assert.Equal(3, _stub.Requests.Count); // the 503, its retry, the call after the tools (no SDK retries)
        var toolMessages = J.Arr(_stub.Requests[2].Json["messages"]).Where(m => (string?)m!["role"] == "tool").ToList();
        Assert.Equal(2, toolMessages.Count);
        Assert.Contains(toolMessages, m => ((string?)m!["content"])!.Contains("alpha"));
        Assert.Contains(toolMessages, m => ((string?)m!["content"])!.Contains("beta"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancel_stops_a_streaming_run_and_the_worker_goes_idle()
    {
        var prefix = string.Join("\n\n", Fixtures.Read("openai-chat/text.sse").Split("\n\n")[..2]) + "\n\n";
        _stub.Enqueue(new Resp.Hang(prefix));
        await using var client = new WorkerClient(_system, _region);
        await client.AttachAsync("cc-2", Manifest, Workspace);

        client.Run("Tell me");
        await client.NextAsync<TextDeltaEvent>(timeout: TimeSpan.FromSeconds(20));
        client.Send(new CancelMethod());
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle, TimeSpan.FromSeconds(20));

        Assert.DoesNotContain(seen, e => e is RunEndEvent { Result: RunResult.Finished });
        Assert.Empty(seen.OfType<TextDoneEvent>());
        Assert.Single(_stub.Requests);
    }
}
