using System.Diagnostics;
using System.Text;
using Yoi.Actors.Tests.Providers;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests;

/// <summary>The embedding sample (examples/EmbeddedWorkers: an Akka.Hosting app hosting Workers with a registered
/// IChatClient and a custom tool) built with the suite and run as a real process against the loopback stub.</summary>
public sealed class EmbeddingSampleTests
{
    private const string Key = "sk-sample-SECRET-51c0";

    /// <summary>An OpenAI Chat Completions stream calling the sample's custom tool, arguments whole.</summary>
    private const string WordCountCall = """
        data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_WC1","type":"function","function":{"name":"WordCount","arguments":"{\"text\":\"the quick brown fox\"}"}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":90,"completion_tokens":12,"total_tokens":102}}

        data: [DONE]


        """;

    private static string SampleDll()
    {
        var bin = Path.Combine(YoiExecutable.RepoRoot, "examples", "EmbeddedWorkers", "bin");
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var binIndex = Array.LastIndexOf(parts, "bin");
        var candidate = Path.Combine(bin, parts[binIndex + 1], parts[binIndex + 2], "EmbeddedWorkers.dll");
        return File.Exists(candidate) ? candidate : throw new InvalidOperationException($"the sample is not built at {candidate}");
    }

    [Fact(Timeout = 120_000)]
    public async Task The_sample_runs_a_worker_whose_chat_client_calls_its_custom_tool()
    {
        await using var stub = new StubLlmServer(new StubResponse.Sse(WordCountCall.Replace("\r\n", "\n")), StubResponse.FromFixture("openai-chat/text.sse"));
        using var dir = new TempDir("yoi-sample");
        var psi = new ProcessStartInfo(YoiExecutable.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            WorkingDirectory = dir.Path,
        };
        foreach (var a in new[] { SampleDll(), "--base-url", $"{stub.BaseUrl.ToString().TrimEnd('/')}/v1", "--model", "gpt-4o-mini",
                     "--key-env", "SAMPLE_KEY", "--home", dir.Path, "--prompt", "Count the words of 'the quick brown fox'" })
            psi.ArgumentList.Add(a);
        psi.Environment["SAMPLE_KEY"] = Key;

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
        var output = await stdout + "\n--- stderr ---\n" + await stderr;

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("worker sample: chat_client gpt-4o-mini", output);
        Assert.Contains("[tool] WordCount {\"text\":\"the quick brown fox\"}", output);
        Assert.Contains("[result] 4 words", output);
        Assert.Contains("Hello, World!", output);
        Assert.Contains("[run end] Finished", output);
        Assert.Equal(2, stub.Requests.Count);
        Assert.All(stub.Requests, r => Assert.Equal("Bearer " + Key, r.Header("Authorization")));
        Assert.Contains("WordCount", stub.Requests[0].Body); // the custom tool was declared to the model
        Assert.Contains("4 words", stub.Requests[1].Body); // and its result went back
        Assert.DoesNotContain(Key, output);
    }
}
