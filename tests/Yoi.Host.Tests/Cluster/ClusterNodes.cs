using System.Net;
using System.Net.Sockets;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>N real `yoi serve` processes on loopback forming one cluster over a shared PostgreSQL journal,
/// each with its own home (socket) and remoting port, all with the same seed list and hocon/cluster.hocon.</summary>
public sealed class ClusterNodes : IAsyncDisposable
{
    private readonly List<TempDir> _homes = [];
    private readonly Func<int, IReadOnlyDictionary<string, string>>? _environment;

    public List<YoiServer?> Nodes { get; } = [];
    public List<int> Ports { get; } = [];
    public PostgresDatabase Database { get; }
    public string[] Seeds { get; }

    /// <summary>Each node's `--http` port (empty unless started with <c>http: true</c>); a restarted node keeps its port.</summary>
    public List<int> HttpPorts { get; } = [];

    private ClusterNodes(PostgresDatabase db, int count, Func<int, IReadOnlyDictionary<string, string>>? environment, bool http)
    {
        Database = db;
        _environment = environment;
        for (var i = 0; i < count; i++)
        {
            Ports.Add(FreePort());
            if (http) HttpPorts.Add(FreePort());
            _homes.Add(new TempDir($"yoi-n{i}"));
            Nodes.Add(null);
        }
        Seeds = Ports.Select(p => $"akka.tcp://yoi@127.0.0.1:{p}").ToArray();
    }

    /// <param name="environment">Extra environment of node i (e.g. OTEL_* or YOI_TOKEN).</param>
    /// <param name="http">Each node also serves `--http 127.0.0.1:PORT` (<see cref="HttpUrl"/>).</param>
    public static async Task<ClusterNodes> StartAsync(int count, Func<int, IReadOnlyDictionary<string, string>>? environment = null, bool http = false)
    {
        var cluster = new ClusterNodes(await PostgresDatabase.CreateAsync(), count, environment, http);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(cluster.StartNodeAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task StartNodeAsync(int i)
    {
        var args = new List<string>
        {
            "--port", Ports[i].ToString(), "--journal", Database.Url,
            "--hocon", Path.Combine(YoiExecutable.RepoRoot, "hocon", "cluster.hocon"),
        };
        foreach (var s in Seeds) { args.Add("--seed"); args.Add(s); }
        if (HttpPorts.Count > 0) { args.Add("--http"); args.Add($"127.0.0.1:{HttpPorts[i]}"); }
        Nodes[i] = await YoiServer.StartAsync(_homes[i].Path, _environment?.Invoke(i), [.. args]);
    }

    /// <summary>Node i's HTTP server (started with <c>http: true</c>).</summary>
    public string HttpUrl(int i) => $"http://127.0.0.1:{HttpPorts[i]}";

    /// <summary>The cluster address of node i (as `inspect` and `cluster show` name nodes).</summary>
    public string Address(int i) => Seeds[i];

    public YoiServer Node(int i) => Nodes[i] ?? throw new InvalidOperationException($"node {i} is down");

    public string Socket(int i) => Node(i).SocketPath;

    /// <summary>Attaches through node <paramref name="i"/>, retrying while the cluster forms or fails over.</summary>
    public async Task<(WireClient Client, SnapshotEvent Snapshot)> AttachAsync(int i, string worker, CreateSpec? create, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            WireClient client;
            try
            {
                client = await WireClient.ConnectAsync(Socket(i), TimeSpan.FromSeconds(3));
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                last = e;
                await Task.Delay(250);
                continue;
            }
            try
            {
                var snapshot = await client.AttachAsync(worker, create, TimeSpan.FromSeconds(3));
                return (client, snapshot);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or OperationCanceledException or IOException)
            {
                last = e;
                await client.DisposeAsync();
                await Task.Delay(250);
            }
        }
        throw new TimeoutException($"could not attach to {worker} through node {i} within {timeout}: {last?.Message}\n" + Logs());
    }

    /// <summary>Creates one Worker through every node, so every node's shard region is registered with the
    /// coordinator before a test's Workers are placed (new shards go to the region with the fewest).</summary>
    public async Task WarmUpAsync(TempDir scripts)
    {
        for (var i = 0; i < Nodes.Count; i++)
        {
            var (client, _) = await AttachAsync(i, $"warm-{i}", Scripted.Create(scripts, $"warm-{i}"), TimeSpan.FromSeconds(60));
            await client.DisposeAsync();
        }
    }

    /// <summary>The last lines each node printed, for failure diagnostics.</summary>
    public string Logs(int lines = 40) => string.Join("\n", Nodes.Select((n, i) =>
        $"--- node {i} ---\n" + (n is null ? "(down)" : string.Join("\n", n.Output.Split('\n').TakeLast(lines)))));

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes)
            if (n is not null) await n.DisposeAsync();
        foreach (var h in _homes) h.Dispose();
        await Database.DisposeAsync();
    }
}
