using System.Text;
using System.Text.Json.Nodes;
using Yoi.Actors.Tests.Providers;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>The gemini scheme black-box: a Worker on a real `yoi serve` whose model is a `ref` into a provider the
/// node's home catalog adds (pointing at the loopback stub), driven over the socket.</summary>
public sealed class GeminiSocketTests
{
    private const string KeyVariable = "YOI_GEMINI_TEST_KEY";
    private const string Key = "AIza-host-test-SECRET-7d41";

    [Fact(Timeout = 60_000)]
    public async Task A_worker_with_a_home_catalog_gemini_ref_runs_a_function_call_and_greets_with_the_catalog_provider_and_window()
    {
        var call = RepoFixtures.Read("gemini/function_call.sse").Replace("\"name\":\"Read\"", "\"name\":\"stub_probe\"");
        await using var stub = new StubLlmServer(new StubResponse.Sse(call), RepoFixtures.Response("gemini/text.sse"));
        using var dir = new TempDir("yoi-gem");
        File.WriteAllText(Path.Combine(dir.Path, "catalog.toml"), $"""
            [providers.lab-gemini]
            scheme = "gemini"
            base_url = "{stub.BaseUrl.ToString().TrimEnd('/')}"
            api_key_env = "{KeyVariable}"
            context_window = 1048576

            [providers.lab-gemini.models."gemini-2.5-flash"]
            max_context_window = 500000
            """);
        await using var server = await YoiServer.StartAsync(dir.Path, new Dictionary<string, string> { [KeyVariable] = Key });
        await using var client = await WireClient.ConnectAsync(server.SocketPath);
        const string manifest = """
            [worker]
            name = "gem"

            [engine]
            instruction = "You are the gemini test worker."

            [model]
            ref = "lab-gemini/gemini-2.5-flash"
            """;
        var snapshot = await client.AttachAsync("gem", new CreateSpec(ManifestToml: manifest));
        Assert.Equal(("lab-gemini", "gemini-2.5-flash", 500000UL),
            (snapshot.Greeting.Provider, snapshot.Greeting.Model, snapshot.Greeting.ContextWindow));

        await client.SendAsync(new RunMethod([new TextSegment("Read the readme")]));
        var events = await client.CollectUntilAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(30));
        var diagnostics = WireClient.Dump(events) + "\n--- server ---\n" + server.Output;

        Assert.True(events[^1] is RunEndEvent { Result: RunResult.Finished }, diagnostics);
        Assert.Contains(events, e => e is ToolCallDoneEvent { Id: "call_stub_probe", Name: "stub_probe", Arguments: "{\"file_path\":\"README.md\"}" });
        Assert.Contains(events, e => e is ToolResultEvent { Id: "call_stub_probe", IsError: true });
        Assert.Contains(events, e => e is TextDoneEvent { Text: "Hello, World!" });
        Assert.Equal([new UsageEvent(40, 12, 0), new UsageEvent(24, 4, 0)], events.OfType<UsageEvent>());

        Assert.Equal(2, stub.Requests.Count);
        Assert.All(stub.Requests, r =>
        {
            Assert.Equal("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", r.Path);
            Assert.Equal(Key, r.Header("x-goog-api-key"));
        });
        var second = stub.Requests[1].Json;
        Assert.Equal("You are the gemini test worker.", (string?)second["systemInstruction"]!["parts"]![0]!["text"]);
        var contents = (JsonArray)second["contents"]!;
        Assert.Equal(["user", "model", "user"], contents.Select(c => (string)c!["role"]!));
        Assert.Equal("stub_probe", (string?)contents[2]!["parts"]![0]!["functionResponse"]!["name"]);

        // the key went out as the header only: not in events, server output or anything under HOME (journal)
        Assert.DoesNotContain(Key, WireClient.Dump(client.Received));
        Assert.DoesNotContain(Key, server.Output);
        foreach (var file in Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".sock", StringComparison.Ordinal)) continue;
            byte[] bytes;
            try
            {
                await using var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var ms = new MemoryStream();
                await f.CopyToAsync(ms);
                bytes = ms.ToArray();
            }
            catch (IOException)
            {
                continue;
            }
            Assert.False(Encoding.UTF8.GetString(bytes).Contains(Key, StringComparison.Ordinal), $"key found in {file}");
        }
    }
}
