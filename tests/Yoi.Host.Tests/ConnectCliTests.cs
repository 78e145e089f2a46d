using System.Text.Json;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests;

/// <summary>Client commands over a node's TCP endpoint: `--connect HOST:PORT` with the token from `$YOI_TOKEN`.</summary>
public sealed class ConnectCliTests
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);
    private const string Token = "cli-t0ken";

    [Fact(Timeout = 90_000)]
    public async Task Client_commands_connect_over_tcp_with_the_token_and_a_wrong_token_is_refused()
    {
        using var home = new TempDir("yoi-cc");
        using var elsewhere = new TempDir("yoi-cc2"); // the client's --home has no node: only --connect reaches one
        await using var server = await YoiServer.StartAsync(home.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = Token }, "--listen", "127.0.0.1:0");
        var endpoint = server.TcpEndPoint!;
        var manifest = home.File("tcp-cli.toml");
        File.WriteAllText(manifest, Scripted.Manifest(home, "tcp-cli", Scripted.Text("over ", "tcp")));
        var env = new Dictionary<string, string> { ["YOI_TOKEN"] = Token };

        var run = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, env, "run", "tcp-cli", "hi", "--manifest", manifest, "--connect", endpoint, "--home", elsewhere.Path);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("over tcp", run.Stdout);
        Assert.DoesNotContain("embedded", run.Stderr);

        var workers = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, env, "workers", "--json", "--connect", endpoint, "--home", elsewhere.Path);
        Assert.True(workers.ExitCode == 0, workers.ToString());
        var json = JsonDocument.Parse(workers.Stdout).RootElement;
        Assert.Contains(json.GetProperty("workers").EnumerateArray(), w => w.GetProperty("name").GetString() == "tcp-cli");

        var wrong = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = "wrong" },
            "cluster", "show", "--connect", endpoint);
        Assert.True(wrong.ExitCode == 1, wrong.ToString());
        Assert.Contains("invalid or missing token", wrong.Stderr);

        var missing = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, "cluster", "show", "--connect", endpoint);
        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Contains("$YOI_TOKEN", missing.Stderr);

        var noNode = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, "workers", "--home", elsewhere.Path);
        Assert.True(noNode.ExitCode == 1, noNode.ToString());
        Assert.Contains("no yoi node is listening", noNode.Stderr);
    }
}
