using System.Diagnostics;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Cluster;

/// <summary>Three nodes on separate networks (<see cref="NetnsCluster"/>) over one PostgreSQL journal, under real
/// faults. Every scenario ends with the SQL checks of <see cref="JournalAudit"/> (sequence numbers unique and
/// contiguous, every row written by the owner of the time) and with the no-loss check: every run a client was told
/// had finished (run_end) is in the journal and in the history the survivors serve.</summary>
public sealed class ClusterFaultTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _scripts = new("yoi-cf");

    private static void RequireNetns()
    {
        var reason = NetnsCluster.Unavailable();
        Assert.SkipWhen(reason is not null, reason ?? "");
    }

    /// <summary>The issue's first paragraph: the node hosting `pw` is frozen; `pw` serves again on a survivor; the frozen
    /// node is continued and a client attached to *its* socket sends three runs. None may be acknowledged unless it is
    /// in the history the survivors serve; after a long freeze the thawed node exits non-zero (downed).</summary>
    [Theory]
    [InlineData(25)]
    [InlineData(6)]
    public async Task Frozen_node_thawed_with_a_client_attached_acknowledges_nothing_the_survivors_lose(int freezeSeconds)
    {
        RequireNetns();
        await using var c = await NetnsCluster.StartAsync(3);
        try
        {
            var acknowledged = new List<string>();
            // Each node's scripted model answers from its own copy of the script: enough responses for every run any
            // one node may serve (it was 1, and the survivor's second run failed as `no response left`).
            var (creator, _) = await c.AttachAsync(0, "pw", Scripted.Create(_scripts, "pw", [.. Enumerable.Repeat(Scripted.Text("ok"), 8)]), TimeSpan.FromSeconds(90));
            await creator.DisposeAsync();
            await c.RunAsync(0, "pw", "ack-1", TimeSpan.FromSeconds(60));
            acknowledged.Add("ack-1");
            var host = c.IndexOf(await JournalAudit.LastWriterAddressAsync(c.Database, "pw") ?? throw new InvalidOperationException("no writer"));
            var survivor = (host + 1) % 3;
            var (thawedClient, _) = await c.AttachAsync(host, "pw", null, TimeSpan.FromSeconds(30));

            c.Freeze(host);
            var sinceFault = Stopwatch.StartNew();
            await c.RunAsync(survivor, "pw", "ack-2", TimeSpan.FromSeconds(90));
            acknowledged.Add("ack-2");
            c.Note($"pw answered a run on node {survivor} {sinceFault.Elapsed.TotalSeconds:F1} s after the freeze");
            output.WriteLine($"failover after freeze: {sinceFault.Elapsed.TotalSeconds:F1} s");
            var left = TimeSpan.FromSeconds(freezeSeconds) - sinceFault.Elapsed;
            if (left > TimeSpan.Zero) await Task.Delay(left);
            c.Thaw(host);

            // Three runs through the thawed node's socket, as in the issue.
            for (var k = 1; k <= 3; k++)
            {
                var text = $"zombie-{k}";
                try
                {
                    await thawedClient.SendAsync(new RunMethod([new TextSegment(text)]));
                    var end = await thawedClient.ReadUntilAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(20));
                    if (end is RunEndEvent { Result: RunResult.Finished }) acknowledged.Add(text);
                    c.Note($"thawed node answered {text}: {end}");
                }
                catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
                {
                    c.Note($"thawed node did not answer {text}: {e.GetType().Name}");
                }
            }
            await thawedClient.DisposeAsync();

            if (freezeSeconds >= 20)
            {
                var code = await c.Node(host).WaitForExitAsync(TimeSpan.FromSeconds(60));
                c.Note($"thawed node exited with {code?.ToString() ?? "(still running)"}");
                Assert.Equal(3, code); // downed: non-zero, so a supervisor restarts it
            }

            await c.RunAsync(survivor, "pw", "ack-3", TimeSpan.FromSeconds(120));
            acknowledged.Add("ack-3");
            await AssertNothingLostAsync(c, survivor, "pw", acknowledged);
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>One node of three cut off from the others mid-run (its database stays reachable): the majority serves its
    /// Worker, the cut-off node downs itself and writes nothing more, its client gets no run_end; the links heal after
    /// 20 s, the node is restarted and rejoins, and the Worker serves through it.</summary>
    [Fact]
    public async Task Node_cut_off_mid_run_downs_itself_and_rejoins_after_the_partition_heals()
    {
        RequireNetns();
        await using var c = await NetnsCluster.StartAsync(3);
        try
        {
            var acknowledged = new List<string>();
            // Every node loads its own copy of the script when it starts the Worker, so the survivor that serves
            // `second` and `third` needs a text response for each (with one, `third` failed: no response left).
            var (creator, _) = await c.AttachAsync(0, "cw", Scripted.Create(_scripts, "cw",
                [Scripted.ToolCall("call-cw", "NoSuchTool", "{}", match: "first"),
                 Scripted.Hang(match: "first"),
                 .. Enumerable.Repeat(Scripted.Text("done"), 6)]), TimeSpan.FromSeconds(90));
            await creator.DisposeAsync();
            await c.RunAsync(0, "cw", "warm", TimeSpan.FromSeconds(60));
            acknowledged.Add("warm");
            var host = c.IndexOf(await JournalAudit.LastWriterAddressAsync(c.Database, "cw") ?? throw new InvalidOperationException("no writer"));
            var survivor = (host + 1) % 3;

            var (client, _) = await c.AttachAsync(host, "cw", null, TimeSpan.FromSeconds(30));
            await client.SendAsync(new RunMethod([new TextSegment("first")]));
            await client.ReadUntilAsync<ToolResultEvent>(timeout: TimeSpan.FromSeconds(30)); // committed; the next LLM call hangs

            var cutOffSocket = c.Node(host).SocketPath;
            c.Isolate(host);
            var sinceCut = Stopwatch.StartNew();
            var unready = CutOffNodeReportsUnreadyAsync(cutOffSocket);
            await c.RunAsync(survivor, "cw", "second", TimeSpan.FromSeconds(90));
            acknowledged.Add("second");
            c.Note($"cw answered a run on node {survivor} {sinceCut.Elapsed.TotalSeconds:F1} s after the cut");
            output.WriteLine($"failover after link cut: {sinceCut.Elapsed.TotalSeconds:F1} s");
            var membership = await unready;
            c.Note($"cut-off node reported unready: {membership.Description}");
            Assert.Contains("minority side of a partition", membership.Description);

            var code = await c.Node(host).WaitForExitAsync(TimeSpan.FromSeconds(60));
            c.Note($"cut-off node exited with {code?.ToString() ?? "(still running)"}");
            Assert.Equal(3, code);
            Assert.DoesNotContain(client.Received, e => e is RunEndEvent);
            await client.DisposeAsync();
            c.Nodes[host] = null;

            var heal = TimeSpan.FromSeconds(20) - sinceCut.Elapsed;
            if (heal > TimeSpan.Zero) await Task.Delay(heal);
            c.Rejoin(host);
            await c.StartNodeAsync(host);
            await c.RunAsync(host, "cw", "third", TimeSpan.FromSeconds(90));
            acknowledged.Add("third");

            await AssertNothingLostAsync(c, host, "cw", acknowledged);
            var (reader, snapshot) = await c.AttachAsync(host, "cw", null, TimeSpan.FromSeconds(30));
            await reader.DisposeAsync();
            var calls = snapshot.Entries.OfType<AssistantItemEntry>().Select(e => e.Item).OfType<ToolCallItem>().Select(x => x.CallId).ToList();
            var results = snapshot.Entries.OfType<ToolResultEntry>().Select(e => e.Item.CallId).ToList();
            Assert.Equal(["call-cw"], calls);
            Assert.Equal(calls, results); // the interrupted run's tool call is answered, exactly once
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>Asks the cut-off node's `health` (its Unix socket is outside the network namespaces) until its
    /// `membership` readiness check fails, which must happen before the node downs itself and exits.</summary>
    private static async Task<HealthCheckInfo> CutOffNodeReportsUnreadyAsync(string socket)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using (var probe = await WireClient.ConnectAsync(socket))
            {
                await probe.SendAsync(new HealthMethod());
                var health = await probe.ReadUntilAsync<HealthEvent>(timeout: TimeSpan.FromSeconds(10));
                var membership = health.Checks.Single(x => x.Name == "membership");
                if (membership.Status != "healthy")
                {
                    Assert.False(health.Ready);
                    return membership;
                }
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the cut-off node stayed ready for 30 s");
            await Task.Delay(200);
        }
    }

    /// <summary>A 2|1 partition (the minority is node 0: the first seed, so the oldest member, which holds the shard
    /// coordinator and is the resolver's leader — the side whose loss costs the most). Runs go to three Workers through
    /// the majority all along and through the minority as well: the majority serves every Worker, the minority
    /// acknowledges nothing the survivors lose, downs itself (exit 3) and writes nothing once superseded; the links heal
    /// 20 s after the cut, the minority is restarted, rejoins and serves every Worker.</summary>
    [Fact]
    public async Task Partition_2_1_the_majority_serves_the_minority_downs_itself_and_rejoins_after_20_s()
    {
        RequireNetns();
        await using var c = await NetnsCluster.StartAsync(3);
        try
        {
            string[] workers = ["pa", "pb", "pc"];
            foreach (var w in workers) await CreateAsync(c, w);
            const int minority = 0;
            var hosts = await HostsAsync(c, workers);
            c.Note($"Workers' nodes: {string.Join(", ", workers.Select(w => $"{w} on {hosts[w]}"))}");
            var traffic = new Traffic(c, workers);
            await Task.Delay(TimeSpan.FromSeconds(2));

            traffic.Via = [1, 2];
            var probes = new Probe(c, minority, workers); // a client of the minority keeps sending runs
            c.Isolate(minority);
            var sinceCut = Stopwatch.StartNew();
            var failover = await traffic.ServedAgainAsync(sinceCut, TimeSpan.FromSeconds(90));
            c.Note($"every Worker answered through the majority {failover.TotalSeconds:F1} s after the cut");
            output.WriteLine($"failover after partition: {failover.TotalSeconds:F1} s");

            var code = await c.Node(minority).WaitForExitAsync(TimeSpan.FromSeconds(60));
            c.Note($"minority exited with {code?.ToString() ?? "(still running)"} {sinceCut.Elapsed.TotalSeconds:F1} s after the cut");
            Assert.Equal(3, code);
            await probes.StopAsync();

            var heal = TimeSpan.FromSeconds(20) - sinceCut.Elapsed;
            if (heal > TimeSpan.Zero) await Task.Delay(heal);
            c.Rejoin(minority);
            await c.RestartAsync(minority);
            var rejoined = new List<string>();
            foreach (var w in workers)
            {
                await c.RunAsync(minority, w, $"{w}-rejoined", TimeSpan.FromSeconds(90));
                rejoined.Add($"{w}-rejoined");
            }
            traffic.Via = [0, 1, 2];
            await Task.Delay(TimeSpan.FromSeconds(2));
            await traffic.StopAsync();

            foreach (var w in workers)
                await AssertNothingLostAsync(c, minority, w, traffic.Acknowledged(w),
                    [.. probes.Acknowledged(w), .. rejoined.Where(r => r.StartsWith(w + "-", StringComparison.Ordinal))]);
            c.Note($"acknowledged: {traffic.Count} through the traffic, {probes.Count} through the minority after the cut");
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>The links of the node hosting a Worker go down and up every 2 s for 30 s while runs go to three Workers
    /// through every node. Whatever the cluster decides meanwhile (it may down the flapping node), it settles: a node
    /// that exited was downed (exit 3) and rejoins when restarted, every Worker answers through every node, no
    /// Worker's journal ever had two writers, and no acknowledged run is lost.</summary>
    [Fact]
    public async Task Flapping_link_the_cluster_settles_with_one_writer_per_Worker_and_nothing_acknowledged_lost()
    {
        RequireNetns();
        await using var c = await NetnsCluster.StartAsync(3);
        try
        {
            string[] workers = ["fa", "fb", "fc"];
            foreach (var w in workers) await CreateAsync(c, w);
            var hosts = await HostsAsync(c, workers);
            var flapping = hosts["fa"];
            c.Note($"Workers' nodes: {string.Join(", ", workers.Select(w => $"{w} on {hosts[w]}"))}; node {flapping} flaps");
            var traffic = new Traffic(c, workers);
            await Task.Delay(TimeSpan.FromSeconds(2));

            var flap = Stopwatch.StartNew();
            while (flap.Elapsed < TimeSpan.FromSeconds(30))
            {
                c.Isolate(flapping);
                await Task.Delay(TimeSpan.FromSeconds(2));
                c.Rejoin(flapping);
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
            // Let any decision the resolver took at the last flap play out (stable-after, lease, exit).
            await Task.Delay(TimeSpan.FromSeconds(12));
            for (var i = 0; i < c.Count; i++)
            {
                if (c.Nodes[i] is not { HasExited: true } n) continue;
                c.Note($"node {i} exited with {n.ExitCode} during the flapping");
                Assert.Equal(3, n.ExitCode);
                await c.RestartAsync(i);
            }
            var settled = new List<string>();
            foreach (var w in workers)
                for (var i = 0; i < c.Count; i++)
                {
                    await c.RunAsync(i, w, $"{w}-settled-{i}", TimeSpan.FromSeconds(90));
                    settled.Add($"{w}-settled-{i}");
                }
            await traffic.StopAsync();
            Assert.All(c.Nodes, n => Assert.False(n!.HasExited, "a node exited after the cluster settled"));

            foreach (var w in workers)
                await AssertNothingLostAsync(c, 0, w, traffic.Acknowledged(w), [.. settled.Where(r => r.StartsWith(w + "-", StringComparison.Ordinal))]);
            c.Note($"acknowledged: {traffic.Count} runs through the traffic");
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>SIGKILL of the node hosting a Worker (its failover figure, next to freeze and cut): the Worker serves
    /// again on a survivor, the restarted node rejoins and serves it, nothing acknowledged is lost.</summary>
    [Fact]
    public async Task Node_killed_its_Worker_serves_again_on_a_survivor_and_the_restarted_node_rejoins()
    {
        RequireNetns();
        await using var c = await NetnsCluster.StartAsync(3);
        try
        {
            await CreateAsync(c, "kw");
            List<string> acknowledged = ["kw-warm"];
            var host = (await HostsAsync(c, ["kw"]))["kw"];
            var survivor = (host + 1) % 3;
            await c.KillAsync(host);
            var sinceKill = Stopwatch.StartNew();
            await c.RunAsync(survivor, "kw", "after-kill", TimeSpan.FromSeconds(90));
            acknowledged.Add("after-kill");
            c.Note($"kw answered a run on node {survivor} {sinceKill.Elapsed.TotalSeconds:F1} s after the kill");
            output.WriteLine($"failover after kill: {sinceKill.Elapsed.TotalSeconds:F1} s");

            await c.RestartAsync(host);
            await c.RunAsync(host, "kw", "rejoined", TimeSpan.FromSeconds(90));
            acknowledged.Add("rejoined");
            await AssertNothingLostAsync(c, host, "kw", acknowledged);
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>The resolver's lease under a skewed clock (libfaketime, wall clock only): one node's clock is
    /// <paramref name="skewSeconds"/> off. Node 0 (the leader) is cut off: the majority {1, 2} takes the lease —
    /// node 1 decides — and serves, node 0 is refused and exits 3. Then nodes 1 and 2 are cut from each other while node
    /// 1 still holds the lease: node 2 must not get it (by the database clock it has not expired) and exits 3, node 1
    /// keeps it and serves alone. +60 s on node 2 is the thief whose clock says the lease expired long ago; −60 s on node
    /// 1 is the holder whose clock would write an expiry already past. Two holders at once would down both sides.</summary>
    [Theory]
    [InlineData(60, 2)]
    [InlineData(-60, 1)]
    public async Task Lease_on_the_database_clock_no_node_60_s_off_takes_or_keeps_it_wrongly(int skewSeconds, int skewed)
    {
        RequireNetns();
        var lib = new[] { "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1" }.FirstOrDefault(File.Exists);
        if (lib is null && Environment.GetEnvironmentVariable("YOI_REQUIRE_NETNS") == "1") throw new InvalidOperationException("libfaketime missing (apt-get install faketime)");
        Assert.SkipWhen(lib is null, "libfaketime is not installed (Debian package faketime)");
        await using var c = await NetnsCluster.StartAsync(3, cl => cl.Environments[skewed] = new()
        {
            ["LD_PRELOAD"] = lib!,
            ["FAKETIME"] = $"{skewSeconds:+0;-0}s",
            ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1", // a wrong wall clock (NTP off), time still passes at the right rate
        });
        try
        {
            var seen = ClockOffset(c.Node(skewed));
            c.Note($"node {skewed}'s clock is {seen.TotalSeconds:F0} s off");
            Assert.InRange(seen.TotalSeconds, skewSeconds - 10, skewSeconds + 10); // the skew is real, or this proves nothing

            await CreateAsync(c, "lw");
            List<string> acknowledged = ["lw-warm"];
            var holders = new LeaseWatch(c.Database);

            c.Isolate(0);
            var sinceCut = Stopwatch.StartNew();
            await c.RunAsync(1, "lw", "majority", TimeSpan.FromSeconds(90));
            acknowledged.Add("majority");
            c.Note($"lw answered through node 1 {sinceCut.Elapsed.TotalSeconds:F1} s after node 0 was cut off");
            Assert.Equal(3, await c.Node(0).WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(c.Address(1), holders.Seen.Single());

            c.Cut(1, 2);
            Assert.Equal(3, await c.Node(2).WaitForExitAsync(TimeSpan.FromSeconds(60)));
            c.Note("node 2 exited with 3");
            await c.RunAsync(1, "lw", "alone", TimeSpan.FromSeconds(90));
            acknowledged.Add("alone");
            Assert.False(c.Node(1).HasExited);
            var seenHolders = await holders.StopAsync();
            c.Note($"lease holders seen in the database: {string.Join(", ", seenHolders)}");
            Assert.Equal(new[] { c.Address(1) }, seenHolders.Select(h => Enumerable.Range(0, 3).Select(c.Address).Single(a => h.Contains("@" + a + ":"))).Distinct().ToArray());
            Assert.Contains("lease yoi-akka-sbr not acquired", c.Nodes[2]!.Output);
            await AssertNothingLostAsync(c, 1, "lw", acknowledged);
            output.WriteLine(string.Join("\n", c.Log));
        }
        catch
        {
            output.WriteLine(c.Logs());
            throw;
        }
    }

    /// <summary>How far the node's wall clock is from ours: its last log line's time of day against now.</summary>
    private static TimeSpan ClockOffset(YoiServer node)
    {
        var now = DateTime.UtcNow.TimeOfDay;
        var last = node.Output.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^err: (\d\d:\d\d:\d\d\.\d\d\d) "))
            .Where(m => m.Success).Select(m => TimeSpan.ParseExact(m.Groups[1].Value, @"hh\:mm\:ss\.fff", null)).Last();
        var d = last - now;
        if (d > TimeSpan.FromHours(12)) d -= TimeSpan.FromDays(1);
        if (d < -TimeSpan.FromHours(12)) d += TimeSpan.FromDays(1);
        return d;
    }

    /// <summary>Polls the lease table (database clock) and collects every owner seen holding it.</summary>
    private sealed class LeaseWatch
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<string> _seen = [];

        public LeaseWatch(PostgresDatabase db) => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    if (await JournalAudit.LeaseHolderAsync(db) is { } h) lock (_seen) if (!_seen.Contains(h)) _seen.Add(h);
                }
                catch (Npgsql.PostgresException) { /* the table appears with the first node */ }
                await Task.Delay(200);
            }
        });

        public List<string> Seen { get { lock (_seen) return [.. _seen]; } }

        public async Task<List<string>> StopAsync()
        {
            _stop.Cancel();
            await _loop;
            return Seen;
        }
    }

    /// <summary>Creates the Worker through node 0 with a script long enough for every run any one node may serve, and
    /// runs it once (`W-warm`).</summary>
    private async Task CreateAsync(NetnsCluster c, string worker)
    {
        var (creator, _) = await c.AttachAsync(0, worker, Scripted.Create(_scripts, worker, [.. Enumerable.Repeat(Scripted.Text("ok"), 300)]),
            TimeSpan.FromSeconds(90));
        await creator.DisposeAsync();
        await c.RunAsync(0, worker, $"{worker}-warm", TimeSpan.FromSeconds(60));
    }

    private static async Task<Dictionary<string, int>> HostsAsync(NetnsCluster c, string[] workers)
    {
        var hosts = new Dictionary<string, int>();
        foreach (var w in workers)
            hosts[w] = c.IndexOf(await JournalAudit.LastWriterAddressAsync(c.Database, w) ?? throw new InvalidOperationException($"{w} has no writer"));
        return hosts;
    }

    /// <summary>Runs sent to each Worker in turn through the nodes in <see cref="Via"/>, while faults happen. One loop
    /// per Worker, so its runs, and the acknowledgements, come one after the other in the order its journal has them.</summary>
    private sealed class Traffic
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _loops = [];
        private readonly Dictionary<string, List<(string Text, TimeSpan At)>> _acks = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public volatile int[] Via = [0, 1, 2];

        public Traffic(NetnsCluster c, string[] workers)
        {
            foreach (var w in workers)
            {
                var acks = _acks[w] = [];
                _loops.Add(Task.Run(async () =>
                {
                    for (var k = 0; !_stop.IsCancellationRequested; k++)
                    {
                        var via = Via;
                        var node = via[k % via.Length];
                        var text = $"{w}-t{k}-n{node}";
                        if (await c.TryRunAsync(node, w, text, TimeSpan.FromSeconds(20)))
                            lock (acks) acks.Add((text, _clock.Elapsed));
                        await Task.Delay(300); // modest load: 2 cores run three nodes and the database
                    }
                }));
            }
        }

        public List<string> Acknowledged(string worker)
        {
            lock (_acks[worker]) return [.. _acks[worker].Select(a => a.Text)];
        }

        public int Count => _acks.Keys.Sum(w => Acknowledged(w).Count);

        /// <summary>Waits until every Worker acknowledged a run after the fault; the time from the fault to the last of
        /// those first answers.</summary>
        public async Task<TimeSpan> ServedAgainAsync(Stopwatch sinceFault, TimeSpan timeout)
        {
            var fault = _clock.Elapsed - sinceFault.Elapsed;
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var firsts = _acks.Values.Select(l => { lock (l) return l.Where(a => a.At > fault).Select(a => (TimeSpan?)a.At).FirstOrDefault(); }).ToList();
                if (firsts.All(f => f is not null)) return firsts.Max()!.Value - fault;
                if (deadline.Elapsed > timeout) throw new TimeoutException("not every Worker answered after the fault");
                await Task.Delay(100);
            }
        }

        public async Task StopAsync()
        {
            _stop.Cancel();
            await Task.WhenAll(_loops);
        }
    }

    /// <summary>A client of one node that keeps sending runs to each Worker (through a partition's minority: nothing it
    /// gets acknowledged may be missing from the survivors' history).</summary>
    private sealed class Probe
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly Dictionary<string, List<string>> _acks = [];

        public Probe(NetnsCluster c, int node, string[] workers)
        {
            foreach (var w in workers) _acks[w] = [];
            _loop = Task.Run(async () =>
            {
                for (var k = 0; !_stop.IsCancellationRequested; k++)
                {
                    var w = workers[k % workers.Length];
                    var text = $"{w}-probe{k}";
                    if (await c.TryRunAsync(node, w, text, TimeSpan.FromSeconds(5))) lock (_acks[w]) _acks[w].Add(text);
                    await Task.Delay(300);
                }
            });
        }

        public List<string> Acknowledged(string worker)
        {
            lock (_acks[worker]) return [.. _acks[worker]];
        }

        public int Count => _acks.Keys.Sum(w => Acknowledged(w).Count);

        public async Task StopAsync()
        {
            _stop.Cancel();
            await _loop;
        }
    }

    /// <summary>SQL: one writer at a time, contiguous sequence numbers; every acknowledged run is in the journal and in
    /// the history served through node <paramref name="via"/>, in the order the clients were told.
    /// <paramref name="unordered"/>: acknowledged runs sent concurrently with those (order between them not defined).</summary>
    private static async Task AssertNothingLostAsync(NetnsCluster c, int via, string worker, List<string> acknowledged,
        List<string>? unordered = null)
    {
        await JournalAudit.AssertSingleWriterAsync(c.Database, worker);
        foreach (var text in acknowledged.Concat(unordered ?? []))
            Assert.True(await JournalAudit.ContainsAsync(c.Database, worker, text), $"acknowledged run `{text}` is not in the journal");
        var (client, snapshot) = await c.AttachAsync(via, worker, null, TimeSpan.FromSeconds(30));
        await client.DisposeAsync();
        var inputs = snapshot.Entries.OfType<UserInputEntry>().Select(u => Segment.FlattenAll(u.Segments)).ToList();
        var served = inputs.Where(acknowledged.Contains).ToList();
        Assert.Equal(acknowledged.Where(inputs.Contains).ToList(), served);
        Assert.All(acknowledged.Concat(unordered ?? []), a => Assert.Contains(a, inputs));
    }

    public void Dispose() => _scripts.Dispose();
}
