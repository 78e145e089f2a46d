using System.Net;
using System.Net.Sockets;
using Npgsql;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests.Cluster;

/// <summary>`yoi serve` as a supervisor sees it (exit codes) and the PostgreSQL URL's query parameters.</summary>
public sealed class NodeExitAndUrlTests
{
    private static void RequirePostgres() =>
        Assert.SkipWhen(PostgresDatabase.ServerUrl is null, "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)");

    private static async Task<int> ExitCodeAsync(YoiProcess p, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!p.HasExited && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.True(p.HasExited, "yoi serve did not exit:\n" + p);
        return p.ExitCode;
    }

    [Fact]
    public async Task Node_that_cannot_join_its_seeds_exits_with_code_4()
    {
        using var home = new TempDir("yoi-nj");
        var hocon = Path.Combine(home.Path, "join.hocon");
        await File.WriteAllTextAsync(hocon, "akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = 3s\n");
        // The only seed is another address where nobody listens: this node may not form a cluster by itself.
        await using var p = YoiProcess.Start(home.Path, "serve", "--home", Path.Combine(home.Path, "h"), "--port", LoopbackPort.Free().ToString(),
            "--seed", $"akka.tcp://yoi@127.0.0.1:{LoopbackPort.Free()}", "--hocon", hocon);
        Assert.Equal(4, await ExitCodeAsync(p, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Node_downed_by_the_cluster_exits_with_code_3_and_sigterm_exits_0()
    {
        RequirePostgres();
        await using var cluster = await ClusterNodes.StartAsync(2);
        // Node 0 downs node 1 through the CLI, as an operator would; node 1 must leave with the "downed" code.
        // "yoi node up" comes before the node has joined: retry until node 0 knows node 1 as a member and accepts the down.
        var address = $"akka.tcp://yoi@127.0.0.1:{cluster.Ports[1]}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        int downCode;
        string downOutput;
        do
        {
            await using var down = YoiProcess.Start(cluster.Node(0).Home, "cluster", "down", address, "--home", cluster.Node(0).Home);
            downCode = await ExitCodeAsync(down, TimeSpan.FromSeconds(60));
            downOutput = down.ToString();
            if (downCode != 0) await Task.Delay(500);
        } while (downCode != 0 && DateTime.UtcNow < deadline);
        Assert.True(downCode == 0, "yoi cluster down failed: " + downOutput);
        Assert.Equal(3, await cluster.Node(1).WaitForExitAsync(TimeSpan.FromSeconds(60)));
        cluster.Nodes[1] = null;
        Assert.Equal(0, await cluster.Node(0).TerminateAsync(TimeSpan.FromSeconds(45)));
        cluster.Nodes[0] = null;
    }

    [Fact]
    public async Task Postgres_url_query_parameters_reach_npgsql()
    {
        RequirePostgres();
        await using var db = await PostgresDatabase.CreateAsync();
        using var home = new TempDir("yoi-url");
        var name = "yoi-url-" + Guid.NewGuid().ToString("N")[..8];
        await using var node = await YoiServer.StartAsync(home.Path, "--journal", db.Url + $"?sslmode=disable&application_name={name}&connect_timeout=7");
        await using var c = new NpgsqlConnection(db.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = @n", c);
        cmd.Parameters.AddWithValue("n", name);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        long seen = 0;
        while (seen == 0 && DateTime.UtcNow < deadline)
        {
            seen = (long)(await cmd.ExecuteScalarAsync())!;
            if (seen == 0) await Task.Delay(250);
        }
        Assert.True(seen > 0, "no connection with application_name from the URL");
    }

    [Fact]
    public async Task Unknown_postgres_url_parameter_is_refused_with_its_name()
    {
        using var home = new TempDir("yoi-urlbad");
        await using var p = YoiProcess.Start(home.Path, "serve", "--home", home.Path,
            "--journal", "postgres://u:secret@127.0.0.1:5432/db?sslmode=require&frobnicate=1");
        Assert.NotEqual(0, await ExitCodeAsync(p, TimeSpan.FromSeconds(60)));
        Assert.Contains("unknown PostgreSQL URL parameter `frobnicate`", p.Stderr);
        Assert.DoesNotContain("secret", p.Stderr + p.Stdout);
    }
}
