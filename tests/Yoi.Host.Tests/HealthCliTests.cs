using System.Net;
using System.Net.Sockets;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>One `yoi serve` with a token and a TCP endpoint, for the health tests that need a ready node.</summary>
public sealed class TokenServerFixture : IAsyncLifetime
{
    public const string Token = "health-t0ken-4b2e";
    public TempDir Dir { get; } = new("yoi-hl");
    public YoiServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await YoiServer.StartAsync(Dir.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = Token }, "--listen", "127.0.0.1:0");
        // "node up" means the endpoint listens, not that the member is Up yet: wait for readiness over the protocol.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await using (var client = await WireClient.ConnectAsync(Server.SocketPath))
            {
                await client.SendAsync(new HealthMethod());
                var reply = await client.ReadUntilAsync<HealthEvent>();
                if (reply.Ready) return;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("the node did not become ready: " + string.Join(", ", reply.Checks.Select(c => $"{c.Name}={c.Status}")));
            }
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>`yoi health` against a node like the other client commands: the socket of `--home` (default) or
/// `--connect HOST:PORT` with `$YOI_TOKEN`, by the `health` host method, which runs the checks `/readyz` runs.</summary>
public sealed class HealthCliTests(TokenServerFixture fixture) : IClassFixture<TokenServerFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] ReadinessChecks = ["akka.cluster.join", "journal", "membership", "snapshot-store", "worker-region"];

    [Fact(Timeout = 60_000)]
    public async Task Health_of_the_home_node_is_ready_and_lists_every_readiness_check()
    {
        var r = await YoiCli.RunAsync(CliTimeout, fixture.Dir.Path, "health", "--home", fixture.Dir.Path);
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var check in ReadinessChecks) Assert.Contains($"healthy   {check}", r.Stdout);
        Assert.Contains("journal: journal answered", r.Stdout);
        Assert.EndsWith("ready", r.Stdout.TrimEnd());
        Assert.DoesNotContain("unhealthy", r.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_health_method_answers_without_attach_with_each_check_named()
    {
        await using var client = await WireClient.ConnectAsync(fixture.Server.SocketPath);
        await client.SendRawAsync("""{"method":"health"}""");
        var reply = await client.ReadUntilAsync<HealthEvent>();
        Assert.True(reply.Ready);
        Assert.Equal(["akka.actorsystem", .. ReadinessChecks], reply.Checks.Select(c => c.Name));
        Assert.All(reply.Checks, c => Assert.Equal("healthy", c.Status));
        Assert.All(reply.Checks, c => Assert.False(string.IsNullOrEmpty(c.Description)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_over_tcp_with_the_token_is_ready()
    {
        using var elsewhere = new TempDir("yoi-hl2"); // no node here: only --connect reaches one
        var r = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = TokenServerFixture.Token },
            "health", "--connect", fixture.Server.TcpEndPoint!, "--home", elsewhere.Path);
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var check in ReadinessChecks) Assert.Contains($"healthy   {check}", r.Stdout);
        Assert.DoesNotContain(TokenServerFixture.Token, r.Stdout + r.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_over_tcp_with_a_wrong_or_no_token_is_not_ready_and_says_why()
    {
        using var elsewhere = new TempDir("yoi-hl3");
        var wrong = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = "not-the-token" },
            "health", "--connect", fixture.Server.TcpEndPoint!);
        Assert.True(wrong.ExitCode == 1, wrong.ToString());
        Assert.Contains($"cannot reach tcp {fixture.Server.TcpEndPoint}", wrong.Stderr);
        Assert.Contains("invalid or missing token", wrong.Stderr);
        Assert.DoesNotContain("healthy", wrong.Stdout);

        var missing = await YoiCli.RunAsync(CliTimeout, elsewhere.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = "" },
            "health", "--connect", fixture.Server.TcpEndPoint!);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("$YOI_TOKEN", missing.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_with_no_node_at_home_cannot_reach_it()
    {
        using var empty = new TempDir("yoi-hl4");
        var r = await YoiCli.RunAsync(CliTimeout, empty.Path, "health", "--home", empty.Path);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"not ready: cannot reach {Path.Combine(empty.Path, "run", "yoi.sock")}", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_takes_either_http_or_connect_not_both()
    {
        using var empty = new TempDir("yoi-hl5");
        var r = await YoiCli.RunAsync(CliTimeout, empty.Path, "health", "--http", "127.0.0.1:1", "--connect", "127.0.0.1:1");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--http and --connect", r.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task Health_of_a_node_whose_journal_is_unreachable_names_the_store_checks_and_not_the_password()
    {
        const string password = "pg-pass-never-shown-91";
        using var home = new TempDir("yoi-hl6");
        // Nothing listens on this port: the node starts (the stores are opened lazily) but its journal cannot answer.
        await using var server = await YoiServer.StartAsync(home.Path, "--journal", $"postgres://yoi:{password}@127.0.0.1:{LoopbackPort.Free()}/yoi");
        // Membership is ready once the node has joined itself, which takes seconds on a loaded box: wait for that
        // (bounded), so that what stays unready is what the unreachable journal makes so.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        CliResult r;
        while (!(r = await YoiCli.RunAsync(CliTimeout, home.Path, "health", "--home", home.Path)).Stdout.Contains("healthy   membership"))
        {
            Assert.True(DateTime.UtcNow < deadline, "membership never became ready: " + r);
            await Task.Delay(250);
        }
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("unhealthy journal: ", r.Stdout);
        Assert.Contains("unhealthy snapshot-store: ", r.Stdout);
        Assert.Contains("healthy   worker-region", r.Stdout);
        Assert.Contains("not ready: journal, snapshot-store", r.Stderr);
        Assert.DoesNotContain(password, r.Stdout + r.Stderr);
    }
}
