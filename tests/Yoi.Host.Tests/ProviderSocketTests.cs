using Yoi.Actors.Tests.Providers;
using System.Text;
using System.Text.Json.Nodes;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>A Worker on a real `yoi serve` process talking to a real provider client (`openai_chat`) whose
/// base_url points at a loopback stub: black-box over the socket.</summary>
public sealed class ProviderSocketTests
{
    private const string KeyVariable = "YOI_PROVIDER_TEST_KEY";
    private const string Key = "sk-host-test-SECRET-93be1f";

    /// <summary>A fragmented call of a tool the Worker does not have (so the result is a deterministic error
    /// tool_result), in the openai-chat fixture's wire format.</summary>
    private static string ToolCallSse() =>
        Fixtures.Read("openai-chat/tool_call.sse").Replace("\"name\":\"Read\"", "\"name\":\"stub_probe\"");

    [Fact(Timeout = 60_000)]
    public async Task A_worker_on_yoi_serve_completes_a_tool_call_run_against_the_stub_with_the_right_second_request()
    {
        await using var stub = new StubLlmServer(new StubResponse.Sse(ToolCallSse()), StubResponse.FromFixture("openai-chat/text.sse"));
        using var dir = new TempDir("yoi-prov");
        await using var server = await YoiServer.StartAsync(dir.Path, new Dictionary<string, string> { [KeyVariable] = Key });
        await using var client = await WireClient.ConnectAsync(server.SocketPath);
        var manifest = $"""
            [worker]
            name = "prov"

            [engine]
            instruction = "You are the provider test worker."

            [model]
            scheme = "openai_chat"
            model_id = "gpt-4o-mini"
            base_url = "{stub.BaseUrl.ToString().TrimEnd('/')}/v1"
            api_key_env = "{KeyVariable}"
            context_window = 128000
            """;
        var snapshot = await client.AttachAsync("prov", new CreateSpec(ManifestToml: manifest));
        Assert.Equal(("openai_chat", "gpt-4o-mini", 128000UL),
            (snapshot.Greeting.Provider, snapshot.Greeting.Model, snapshot.Greeting.ContextWindow));

        await client.SendAsync(new RunMethod([new TextSegment("Read the readme")]));
        var events = await client.CollectUntilAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(30));
        var diagnostics = WireClient.Dump(events) + "\n--- server ---\n" + server.Output;

        Assert.True(events[^1] is RunEndEvent { Result: RunResult.Finished }, diagnostics);
        Assert.Contains(events, e => e is ToolCallDoneEvent { Id: "call_Rd8mQ2", Name: "stub_probe", Arguments: "{\"file_path\":\"README.md\"}" });
        Assert.Contains(events, e => e is ToolResultEvent { Id: "call_Rd8mQ2", IsError: true, Summary: "Tool 'stub_probe' not found" });
        Assert.Contains(events, e => e is TextDoneEvent { Text: "Hello, World!" });
        Assert.Equal([new UsageEvent(180, 19, 0), new UsageEvent(24, 4, 0)], events.OfType<UsageEvent>());

        Assert.Equal(2, stub.Requests.Count);
        Assert.All(stub.Requests, r =>
        {
            Assert.Equal("/v1/chat/completions", r.Path);
            Assert.Equal("Bearer " + Key, r.Header("Authorization"));
        });
        var messages = (JsonArray)stub.Requests[1].Json["messages"]!;
        Assert.Equal(["system", "user", "assistant", "tool"], messages.Select(m => (string)m!["role"]!));
        Assert.Equal("You are the provider test worker.", (string?)messages[0]!["content"]);
        Assert.Equal("Read the readme", (string?)messages[1]!["content"]);
        Assert.Equal("call_Rd8mQ2", (string?)messages[2]!["tool_calls"]![0]!["id"]);
        Assert.Equal("stub_probe", (string?)messages[2]!["tool_calls"]![0]!["function"]!["name"]);
        Assert.Equal("{\"file_path\":\"README.md\"}", (string?)messages[2]!["tool_calls"]![0]!["function"]!["arguments"]);
        Assert.Equal("call_Rd8mQ2", (string?)messages[3]!["tool_call_id"]);
        Assert.Equal("Tool 'stub_probe' not found", (string?)messages[3]!["content"]);

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
