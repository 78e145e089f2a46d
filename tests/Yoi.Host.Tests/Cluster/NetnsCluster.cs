using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>N `yoi serve` processes on separate networks: each in its own network namespace with its own address,
/// joined by veth pairs to a bridge (netns.sh). PostgreSQL (on 127.0.0.1 in the root namespace) is reached through a
/// relay on the bridge address, so cutting the links between nodes leaves every node its database — the hard case
/// for the writer fence. Faults: cut/heal links (iptables), freeze/thaw (SIGSTOP/SIGCONT), kill. Everything is torn
/// down on dispose, also after a failure; every wait is bounded.</summary>
public sealed class NetnsCluster : IAsyncDisposable
{
    public const int RemotingPort = 4053;
    private static readonly string Script = Path.Combine(YoiExecutable.RepoRoot, "tests", "Yoi.Host.Tests", "Cluster", "netns.sh");

    private readonly List<TempDir> _homes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly string _id;
    private readonly int _octet;
    private bool _up;

    public List<YoiServer?> Nodes { get; } = [];
    private readonly List<(int Index, YoiServer Server)> _started = []; // every incarnation, also killed or exited ones, for the logs
    public PostgresDatabase Database { get; }
    public int Count { get; }
    public string[] Seeds { get; }
    public List<string> Log { get; } = [];

    private NetnsCluster(PostgresDatabase db, int count)
    {
        Database = db;
        Count = count;
        _id = Convert.ToHexString(Guid.NewGuid().ToByteArray())[..6].ToLowerInvariant();
        _octet = Random.Shared.Next(2, 250);
        for (var i = 0; i < count; i++)
        {
            _homes.Add(new TempDir($"yoi-ns{i}"));
            Nodes.Add(null);
        }
        Seeds = Enumerable.Range(1, count).Select(i => $"akka.tcp://yoi@{Address(i - 1)}:{RemotingPort}").ToArray();
    }

    /// <summary>Why these tests cannot run here (not root, no `ip netns`…), or null. CI sets YOI_REQUIRE_NETNS=1 so a
    /// missing capability fails there instead of skipping.</summary>
    public static string? Unavailable()
    {
        if (PostgresDatabase.ServerUrl is null) return "YOI_TEST_PG is not set (bash .ci/postgres.sh starts PostgreSQL and prints the URL)";
        var (rc, output) = Run("bash", [Script, "check"]);
        if (rc == 0) return null;
        var reason = $"network namespaces unavailable: {output.Trim()} (needs root, iproute2, iptables)";
        if (Environment.GetEnvironmentVariable("YOI_REQUIRE_NETNS") == "1") throw new InvalidOperationException(reason);
        return reason;
    }

    public string Address(int i) => $"10.231.{_octet}.{11 + i}";
    private string Bridge => $"10.231.{_octet}.1";
    public string Namespace(int i) => $"yoi-{_id}-n{i + 1}";

    /// <summary>Extra environment for node i's processes (every incarnation), e.g. libfaketime's.</summary>
    public Dictionary<int, Dictionary<string, string>> Environments { get; } = [];

    public static async Task<NetnsCluster> StartAsync(int count, Action<NetnsCluster>? configure = null)
    {
        var cluster = new NetnsCluster(await PostgresDatabase.CreateAsync(), count);
        try
        {
            configure?.Invoke(cluster);
            cluster.Sh("up", cluster._id, count.ToString(), cluster._octet.ToString());
            cluster._up = true;
            cluster.StartRelay();
            await Task.WhenAll(Enumerable.Range(0, count).Select(cluster.StartNodeAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private TcpListener? _bridgeRelay;
    private int _relayPort;

    /// <summary>Bridge address → PostgreSQL on loopback, byte for byte (the server keeps listening on 127.0.0.1 only and
    /// sees local connections, so neither postgresql.conf nor pg_hba.conf changes).</summary>
    private void StartRelay()
    {
        var server = new Uri(PostgresDatabase.ServerUrl!);
        _bridgeRelay = new TcpListener(IPAddress.Parse(Bridge), 0);
        _bridgeRelay.Start();
        _relayPort = ((IPEndPoint)_bridgeRelay.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient inbound;
                try { inbound = await _bridgeRelay.AcceptTcpClientAsync(_stop.Token); }
                catch { return; }
                _ = Task.Run(async () =>
                {
                    using var a = inbound;
                    using var b = new TcpClient();
                    try
                    {
                        await b.ConnectAsync(server.Host, server.Port > 0 ? server.Port : 5432, _stop.Token);
                        var sa = a.GetStream();
                        var sb = b.GetStream();
                        await Task.WhenAny(sa.CopyToAsync(sb, _stop.Token), sb.CopyToAsync(sa, _stop.Token));
                    }
                    catch { /* either side closed */ }
                });
            }
        });
    }

    public string JournalUrl => Database.UrlVia(Bridge, _relayPort);

    public async Task StartNodeAsync(int i)
    {
        var args = new List<string>
        {
            "--hostname", Address(i), "--port", RemotingPort.ToString(), "--journal", JournalUrl,
            "--hocon", Path.Combine(YoiExecutable.RepoRoot, "hocon", "cluster.hocon"),
        };
        foreach (var s in Seeds) { args.Add("--seed"); args.Add(s); }
        var server = await YoiServer.StartAsync(_homes[i].Path, Environments.GetValueOrDefault(i), ["ip", "netns", "exec", Namespace(i)], [.. args]);
        Nodes[i] = server;
        lock (_started) _started.Add((i, server));
        Note($"node {i} started ({Address(i)})");
    }

    /// <summary>Starts node i again after it exited (downed: exit code 3) or was killed; its address and port are
    /// reused, which the cluster accepts once the old incarnation was removed.</summary>
    public async Task RestartAsync(int i)
    {
        if (Nodes[i] is { HasExited: false }) throw new InvalidOperationException($"node {i} is still running");
        Nodes[i] = null;
        await StartNodeAsync(i);
    }

    public YoiServer Node(int i) => Nodes[i] ?? throw new InvalidOperationException($"node {i} is down");

    public int IndexOf(string akkaAddress) =>
        Enumerable.Range(0, Count).First(i => akkaAddress.Contains("@" + Address(i) + ":", StringComparison.Ordinal));

    // ---- faults ----

    public void Isolate(int i) { Sh("isolate", _id, Count.ToString(), _octet.ToString(), (i + 1).ToString()); Note($"node {i} isolated"); }
    public void Rejoin(int i) { Sh("rejoin", _id, Count.ToString(), _octet.ToString(), (i + 1).ToString()); Note($"node {i} links healed"); }
    public void Cut(int i, int j) { Sh("cut", _id, Count.ToString(), _octet.ToString(), (i + 1).ToString(), (j + 1).ToString()); Note($"link {i}-{j} cut"); }
    public void Heal(int i, int j) { Sh("heal", _id, Count.ToString(), _octet.ToString(), (i + 1).ToString(), (j + 1).ToString()); Note($"link {i}-{j} healed"); }
    public void Freeze(int i) { Node(i).Signal(19); Note($"node {i} frozen (SIGSTOP)"); }
    public void Thaw(int i) { Node(i).Signal(18); Note($"node {i} thawed (SIGCONT)"); }

    public async Task KillAsync(int i)
    {
        await Node(i).KillAsync();
        Nodes[i] = null;
        Note($"node {i} killed");
    }

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    public void Note(string what)
    {
        lock (Log) Log.Add($"{_clock.Elapsed.TotalSeconds,7:F1}s {what}");
    }

    /// <summary>Attaches through node <paramref name="i"/>'s socket, retrying while the cluster forms or fails over.</summary>
    public async Task<(WireClient Client, SnapshotEvent Snapshot)> AttachAsync(int i, string worker, CreateSpec? create, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            WireClient client;
            try { client = await WireClient.ConnectAsync(Node(i).SocketPath, TimeSpan.FromSeconds(3)); }
            catch (Exception e) when (e is SocketException or OperationCanceledException or TimeoutException)
            {
                last = e;
                await Task.Delay(250);
                continue;
            }
            try
            {
                return (client, await client.AttachAsync(worker, create, TimeSpan.FromSeconds(5)));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or OperationCanceledException or IOException)
            {
                last = e;
                await client.DisposeAsync();
                await Task.Delay(250);
            }
        }
        throw new TimeoutException($"could not attach to {worker} through node {i} within {timeout}: {last?.Message}");
    }

    /// <summary>Sends one run through node <paramref name="i"/> and waits for its run_end; retries (re-attaching) while
    /// the Worker fails over. Returns when a run_end(finished) arrived — the acknowledgement.</summary>
    public async Task RunAsync(int i, string worker, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"run `{text}` on {worker} via node {i} not answered within {timeout}");
            var (client, _) = await AttachAsync(i, worker, null, left);
            await using (client)
            {
                try
                {
                    await client.SendAsync(new RunMethod([new TextSegment(text)]));
                    var end = await client.ReadUntilAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(20));
                    if (end is RunEndEvent { Result: RunResult.Finished }) return;
                    NoteOnce($"run `{text}` via node {i}: {end}");
                }
                catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
                {
                    NoteOnce($"run `{text}` via node {i}: {e.GetType().Name}: {e.Message}");
                }
            }
            await Task.Delay(250);
        }
    }

    /// <summary>One run through node <paramref name="i"/>, no retry: true when it was acknowledged (run_end
    /// finished). Any other outcome (node down, gate closed, error, no answer in time) is false and noted once.</summary>
    public async Task<bool> TryRunAsync(int i, string worker, string text, TimeSpan timeout)
    {
        if (Nodes[i] is not { HasExited: false } node) return false;
        WireClient client;
        try { client = await WireClient.ConnectAsync(node.SocketPath, TimeSpan.FromSeconds(3)); }
        catch (Exception e) when (e is SocketException or OperationCanceledException or TimeoutException or IOException)
        {
            NoteOnce($"run via node {i}: {e.GetType().Name}");
            return false;
        }
        await using (client)
        {
            try
            {
                await client.AttachAsync(worker, null, timeout);
                await client.SendAsync(new RunMethod([new TextSegment(text)]));
                var end = await client.ReadUntilAsync(e => e is RunEndEvent or ErrorEvent, timeout);
                if (end is RunEndEvent { Result: RunResult.Finished }) return true;
                NoteOnce($"run on {worker} via node {i}: {end}");
            }
            catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
            {
                NoteOnce($"run on {worker} via node {i}: {e.GetType().Name}: {e.Message}");
            }
            return false;
        }
    }

    private readonly HashSet<string> _noted = [];

    /// <summary>A retried outcome goes into the timeline once (a failing scenario then says why it kept retrying).</summary>
    private void NoteOnce(string line)
    {
        lock (_noted) if (!_noted.Add(line)) return;
        Note(line);
    }

    /// <summary>The fault timeline and every node incarnation's whole log (DEBUG and dead-letter lines left out unless
    /// the nodes were asked for them with YOI_LOG_LEVEL=Debug), for a failed scenario's output; also written to files
    /// under $YOI_CLUSTER_LOGS (default /tmp/yoi-cluster-logs/ID).</summary>
    public string Logs()
    {
        var debug = Environment.GetEnvironmentVariable("YOI_LOG_LEVEL") is "Debug" or "debug" or "Trace" or "trace";
        List<(int Index, YoiServer Server)> all;
        lock (_started) all = [.. _started];
        var text = string.Join("\n", Log) + "\n" + string.Join("\n", all.Select((n, k) =>
            $"--- node {n.Index} ({Address(n.Index)}), incarnation {k}, {(n.Server.HasExited ? $"exited {n.Server.ExitCode}" : "running")} ---\n" +
            string.Join("\n", n.Server.Output.Split('\n').Where(l => debug || (!l.Contains("[DEBUG]") && !l.Contains("dead letters"))))));
        try
        {
            var dir = Path.Combine(Environment.GetEnvironmentVariable("YOI_CLUSTER_LOGS") ?? "/tmp/yoi-cluster-logs", _id);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "cluster.log"), text);
            text = $"(also in {dir}/cluster.log)\n" + text;
        }
        catch (IOException) { }
        return text;
    }

    private void Sh(params string[] args)
    {
        var (rc, output) = Run("bash", [Script, .. args]);
        if (rc != 0) throw new InvalidOperationException($"netns.sh {string.Join(' ', args)} failed ({rc}): {output}");
    }

    private static (int, string) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(true);
            return (124, "timed out");
        }
        return (p.ExitCode, output.Result + error.Result);
    }

    public async ValueTask DisposeAsync()
    {
        // The failover bench keeps every scenario's logs (where the seconds went), not only a failed one's.
        if (Environment.GetEnvironmentVariable("YOI_CLUSTER_LOGS_KEEP") == "1") Logs();
        foreach (var n in Nodes)
        {
            if (n is null) continue;
            n.Signal(18); // a frozen node must run to die cleanly
            await n.DisposeAsync();
        }
        _stop.Cancel();
        _bridgeRelay?.Stop();
        if (_up) Run("bash", [Script, "down", _id, Count.ToString()]);
        foreach (var h in _homes) h.Dispose();
        await Database.DisposeAsync();
    }
}
