using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>`yoi run` against a running node (shared), plus node lifecycle: embedded node, SIGTERM, TCP token.</summary>
public sealed class CliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);

    private string WriteManifest(string worker, params string[] responses)
    {
        var path = fixture.Dir.File($"{worker}.toml");
        File.WriteAllText(path, Scripted.Manifest(fixture.Dir, worker, responses));
        return path;
    }

    [Fact(Timeout = 40_000)]
    public async Task Run_creates_the_worker_streams_text_and_exits_zero()
    {
        var manifest = WriteManifest("cli-hello", Scripted.Text("Hello", " World"));

        var result = await YoiCli.RunAsync(CliTimeout, fixture.Dir.Path, "run", "cli-hello", "hi", "--manifest", manifest, "--home", fixture.Dir.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Hello World", result.Stdout);
        Assert.DoesNotContain("embedded", result.Stderr); // used the running node
    }

    [Fact(Timeout = 40_000)]
    public async Task Run_on_a_missing_worker_without_manifest_fails()
    {
        var result = await YoiCli.RunAsync(CliTimeout, fixture.Dir.Path, "run", "cli-nobody", "hi", "--home", fixture.Dir.Path);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("does not exist", result.Stderr);
    }

    [Fact(Timeout = 40_000)]
    public async Task Run_exits_non_zero_when_the_run_errors()
    {
        var manifest = WriteManifest("cli-error", """{"items":[{"error":{"code":"overloaded_error","message":"busy right now"}}]}""");

        var result = await YoiCli.RunAsync(CliTimeout, fixture.Dir.Path, "run", "cli-error", "hi", "--manifest", manifest, "--home", fixture.Dir.Path);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("busy right now", result.Stderr);
    }

    [Fact(Timeout = 40_000)]
    public async Task Run_renders_tool_calls_and_results()
    {
        var manifest = WriteManifest("cli-tools", Scripted.ToolCall("c1", "NoSuchTool", """{"a":1}"""), Scripted.Text("done"));

        var result = await YoiCli.RunAsync(CliTimeout, fixture.Dir.Path, "run", "cli-tools", "hi", "--manifest", manifest, "--home", fixture.Dir.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("→ NoSuchTool(", result.Stdout);
        Assert.Contains("← ", result.Stdout);
        Assert.Contains("done", result.Stdout);
    }
}

/// <summary>Tests that need their own node (or none).</summary>
public sealed class NodeLifecycleTests
{
    [Fact(Timeout = 90_000)]
    public async Task Run_without_a_node_starts_an_embedded_one_and_the_session_is_durable()
    {
        using var home = new TempDir("yoi-emb");
        var demo = Path.Combine(YoiExecutable.RepoRoot, "examples", "demo.toml");

        var result = await YoiCli.RunAsync(TimeSpan.FromSeconds(60), home.Path, "run", "demo", "Hello!", "--manifest", demo, "--home", home.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Hello! I am the scripted demo Worker.", result.Stdout);
        Assert.False(File.Exists(Path.Combine(home.Path, "run", "yoi.sock")), "the embedded node removes its socket");

        // a node started later on the same home has the conversation
        await using var server = await YoiServer.StartAsync(home.Path);
        await using var client = await WireClient.ConnectAsync(server.SocketPath);
        var snapshot = await client.AttachAsync("demo");
        Assert.Contains(snapshot.Entries, e => e is UserInputEntry u && Segment.FlattenAll(u.Segments) == "Hello!");
        Assert.Contains(snapshot.Entries, e => e is RunCompletedEntry);
    }

    [Fact(Timeout = 90_000)]
    public async Task Sigterm_stops_the_node_gracefully_and_removes_the_socket()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "POSIX signals");
        using var home = new TempDir("yoi-term");
        await using var server = await YoiServer.StartAsync(home.Path);
        Assert.True(File.Exists(server.SocketPath));

        var exit = await server.TerminateAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"exit code {exit?.ToString() ?? "none (still running)"}\n{server.Output}");
        Assert.False(File.Exists(server.SocketPath));
    }

    [Fact(Timeout = 60_000)]
    public async Task Tcp_endpoint_requires_the_token_in_hello()
    {
        using var home = new TempDir("yoi-tcp");
        var env = new Dictionary<string, string> { ["YOI_TOKEN"] = "s3cret-token" };
        await using var server = await YoiServer.StartAsync(home.Path, env, "--listen", "127.0.0.1:0");
        Assert.NotNull(server.TcpEndPoint);

        await using (var wrong = await WireClient.ConnectTcpAsync(server.TcpEndPoint!))
        {
            await wrong.SendAsync(new HelloMethod("nope"));
            var error = await wrong.ReadUntilAsync<ErrorEvent>();
            Assert.Equal(ErrorCode.InvalidRequest, error.Code);
            Assert.Equal("invalid or missing token", error.Message);
            await wrong.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await using (var missing = await WireClient.ConnectTcpAsync(server.TcpEndPoint!))
        {
            await missing.SendAsync(new AttachMethod("x"));
            var error = await missing.ReadUntilAsync<ErrorEvent>();
            Assert.Equal("invalid or missing token", error.Message);
            await missing.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await using var right = await WireClient.ConnectTcpAsync(server.TcpEndPoint!);
        await right.SendAsync(new HelloMethod("s3cret-token"));
        var snapshot = await right.AttachAsync("tcp-worker", Scripted.Create(home, "tcp-worker", Scripted.Text("over tcp")));
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
        await right.SendAsync(new RunMethod([new TextSegment("hi")]));
        await right.ReadUntilAsync(e => e is TextDoneEvent { Text: "over tcp" });
    }
}
