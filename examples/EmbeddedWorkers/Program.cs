// Embedding sample: an Akka.Hosting application that hosts Yoi Workers itself (no `yoi serve`), gives them a model
// through a registered Microsoft.Extensions.AI IChatClient (here the OpenAI SDK's, pointed at any OpenAI-compatible
// endpoint: api.openai.com, Azure OpenAI's /openai/v1, Ollama's http://localhost:11434/v1, …) and one custom tool.
//
//   dotnet run --project examples/EmbeddedWorkers -- --base-url http://localhost:11434/v1 --model llama3.3 \
//       --prompt "How many words are in 'the quick brown fox'? Use WordCount."
//
// The key is read from the variable named by --key-env (default OPENAI_API_KEY); none is needed for Ollama.
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Tools;
using Yoi.Actors.Worker;
using Yoi.Messages;

var baseUrl = Arg("--base-url") ?? Environment.GetEnvironmentVariable("OPENAI_BASE_URL") ?? "https://api.openai.com/v1";
var model = Arg("--model") ?? "gpt-4o-mini";
var keyEnv = Arg("--key-env") ?? "OPENAI_API_KEY";
var prompt = Arg("--prompt") ?? "How many words are in 'the quick brown fox'? Use the WordCount tool.";
var home = Arg("--home") ?? Directory.CreateTempSubdirectory("yoi-embedded").FullName;

// The chat client the Workers use. Its own retries are off: the Worker's engine retries (with LlmRetry notices), and it
// must not be wrapped in UseFunctionInvocation(): the engine executes tools (scope, permissions, journal).
IChatClient CreateChatClient(IServiceProvider _) =>
    new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(Environment.GetEnvironmentVariable(keyEnv) ?? "unused"),
        new OpenAIClientOptions { Endpoint = new Uri(baseUrl), RetryPolicy = new ClientRetryPolicy(0) }).AsIChatClient();

// Builtin tools plus ours, for every Worker of this node.
var runtime = WorkerRuntime.Default with
{
    LoanAwareToolFactory = (manifest, loans) => [.. BuiltinTools.Create(manifest, loans), new WordCountTool()],
};

using var host = new HostBuilder()
    .ConfigureServices(services => services.AddAkka(YoiNodeOptions.ActorSystemName, (builder, _) =>
        builder.AddYoiNode(new YoiNodeOptions { Home = home }, o => o.AddChatClient("main", CreateChatClient), runtime)))
    .Build();
await host.StartAsync();
var system = host.Services.GetRequiredService<ActorSystem>();
var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<WorkerRegion>();

// A client of one Worker: an actor whose mailbox feeds a channel.
var inbox = Channel.CreateUnbounded<object>();
var self = system.ActorOf(Props.Create(() => new Inbox(inbox.Writer)), "sample-client");
const string manifest = """
    [worker]
    name = "sample"

    [model]
    scheme = "chat_client"
    client = "main"
    context_window = 128000

    [engine]
    instruction = "You are a helpful assistant. Use tools when asked."
    """;
region.Tell(new WorkerEnvelope("sample", new AttachClient(self, manifest, home)));

var ok = false;
var running = false;
using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
try
{
    await foreach (var message in inbox.Reader.ReadAllAsync(deadline.Token))
    {
        switch (message)
        {
            case AttachRejected rejected:
                Console.Error.WriteLine("attach rejected: " + rejected.Error.Message);
                return 2;
            case SnapshotEvent snapshot when !running:
                Console.WriteLine($"worker {snapshot.Greeting.WorkerName}: {snapshot.Greeting.Provider} {snapshot.Greeting.Model}, " +
                                  $"tools {string.Join(", ", snapshot.Greeting.Tools)}");
                running = true;
                region.Tell(new WorkerEnvelope("sample", new ClientMethod(new RunMethod([new TextSegment(prompt)]), self)));
                break;
            case TextDeltaEvent delta:
                Console.Write(delta.Text);
                break;
            case ToolCallDoneEvent call:
                Console.WriteLine($"\n[tool] {call.Name} {call.Arguments}");
                break;
            case ToolResultEvent result:
                Console.WriteLine($"[result] {result.Summary}");
                break;
            case LlmRetryEvent retry:
                Console.WriteLine($"[retry] {retry.Error}");
                break;
            case ErrorEvent error:
                Console.Error.WriteLine($"\n[error] {error.Message}");
                break;
            case RunEndEvent end:
                Console.WriteLine($"\n[run end] {end.Result}");
                ok = end.Result == RunResult.Finished;
                break;
            case StatusEvent { Status: WorkerStatus.Idle } when running && message is not null:
                if (ok || deadline.IsCancellationRequested) goto done;
                break;
        }
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("timed out");
}
done:
await host.StopAsync();
return ok ? 0 : 1;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>The custom tool: counts the words of a text.</summary>
sealed class WordCountTool : ITool
{
    public string Name => "WordCount";

    public string Description => "Counts the words (whitespace-separated) of a text.";

    public JsonElement InputSchema { get; } = JsonDocument.Parse("""
        {"type":"object","properties":{"text":{"type":"string","description":"the text to count"}},"required":["text"]}
        """).RootElement;

    public bool ReadOnly => true;

    public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        if (!input.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            throw new ToolException(ToolErrorKind.InvalidArgument, "`text` (a string) is required");
        var words = text.GetString()!.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        return Task.FromResult(new ToolOutput($"{words} words"));
    }
}

sealed class Inbox : ReceiveActor
{
    public Inbox(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));
}
