using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yoi.Actors.Host.Http;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>Answers the host-level methods (the CLI's inspection commands) on the node a client is connected to,
/// with Akka's own cluster and sharding query APIs (notes §2b). Every ask has a timeout (notes §2c.9), and
/// unreachable members are reported rather than waited for (§2c: GetClusterShardingStats waits on them).
/// <paramref name="health"/>: the host's health checks (`health` runs the readiness ones, as `/readyz` does).</summary>
public sealed class HostInspector(ActorSystem system, IActorRef region, HealthCheckService? health)
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public async Task<Event> HandleAsync(Method method, CancellationToken ct)
    {
        try
        {
            return method switch
            {
                ClusterShowMethod => ClusterState(),
                ClusterLeaveMethod l => ClusterCommand("leave", l.Address),
                ClusterDownMethod d => ClusterCommand("down", d.Address),
                ShardsMethod => await ShardsAsync(ct),
                WorkersMethod => await WorkersAsync(ct),
                InspectMethod i => await InspectAsync(i.Worker, ct),
                RestoreMethod r => await RestoreAsync(r.Worker, ct),
                HealthMethod => health is null
                    ? new ErrorEvent(ErrorCode.Internal, "this node has no health checks registered")
                    : await YoiHealthChecks.RunAsync(health, YoiHealthChecks.Ready, ct),
                _ => new ErrorEvent(ErrorCode.InvalidRequest, $"invalid method: `{method.GetType().Name}` is not a host method"),
            };
        }
        catch (HostMethodException e)
        {
            return new ErrorEvent(e.Code, e.Message);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or TimeoutException)
        {
            return new ErrorEvent(ErrorCode.Internal, $"timed out after {AskTimeout.TotalSeconds:0}s: {e.Message}");
        }
    }

    private sealed class HostMethodException(ErrorCode code, string message) : Exception(message)
    {
        public ErrorCode Code { get; } = code;
    }

    // ---------------------------------------------------------------- cluster

    private ClusterStateEvent ClusterState()
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        // The node lists itself also before its own join completes (the endpoint opens while the node is still
        // joining its seeds, or self-joining), with the status its cluster extension gives it.
        var self = state.Members.Concat(state.Unreachable).Any(m => Equals(m.Address, cluster.SelfAddress))
            ? [] : new[] { cluster.SelfMember };
        var members = state.Members
            .Concat(state.Unreachable.Where(u => !state.Members.Contains(u)))
            .Concat(self)
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .Select(m => new ClusterMemberInfo(
                m.Address.ToString(),
                Snake(m.Status.ToString()),
                m.Roles.Order(StringComparer.Ordinal).ToList(),
                !unreachable.Contains(m.Address),
                Equals(m.Address, state.Leader),
                Equals(m.Address, cluster.SelfAddress)))
            .ToList();
        return new ClusterStateEvent(cluster.SelfAddress.ToString(), state.Leader?.ToString(), members,
            unreachable.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToList());
    }

    private ClusterCommandEvent ClusterCommand(string action, string address)
    {
        Address parsed;
        try { parsed = Address.Parse(address); }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            throw new HostMethodException(ErrorCode.InvalidRequest, $"invalid address `{address}`: expected akka.tcp://yoi@host:port");
        }
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        if (!state.Members.Any(m => Equals(m.Address, parsed)) && !state.Unreachable.Any(m => Equals(m.Address, parsed)))
            throw new HostMethodException(ErrorCode.InvalidRequest,
                $"`{address}` is not a member of the cluster (members: {string.Join(", ", state.Members.Select(m => m.Address.ToString()))})");
        if (action == "leave")
        {
            cluster.Leave(parsed);
            return new ClusterCommandEvent("leave", parsed.ToString(), $"{parsed} is leaving the cluster (its Workers hand off to the remaining nodes)");
        }
        cluster.Down(parsed);
        return new ClusterCommandEvent("down", parsed.ToString(), $"{parsed} was marked down and will be removed from the cluster");
    }

    // ---------------------------------------------------------------- sharding

    private async Task<ShardsEvent> ShardsAsync(CancellationToken ct)
    {
        var sharding = ClusterSharding.Get(system);
        var regions = new List<RegionInfo>();
        foreach (var typeName in sharding.ShardTypeNames.Order(StringComparer.Ordinal))
        {
            var shardRegion = sharding.ShardRegion(typeName);
            List<RegionNodeInfo> nodes;
            try
            {
                var stats = await shardRegion.Ask<ClusterShardingStats>(new GetClusterShardingStats(AskTimeout), AskTimeout + TimeSpan.FromSeconds(2), ct);
                nodes = stats.Regions
                    .OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal)
                    .Select(kv => new RegionNodeInfo(
                        NodeAddress(kv.Key),
                        kv.Value.Stats.Count,
                        kv.Value.Stats.Values.Sum(),
                        kv.Value.Stats.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new ShardInfo(s.Key, s.Value)).ToList(),
                        kv.Value.Failed.Count > 0 ? $"shards did not answer in time: {string.Join(", ", kv.Value.Failed.Order())}" : null))
                    .ToList();
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // The coordinator-wide query did not answer (e.g. an unreachable region): ask each node's region.
                var states = await RegionStatesAsync(typeName, ct);
                nodes = states.Select(s => s.State is { } st
                        ? new RegionNodeInfo(s.Address, st.Shards.Count, st.Shards.Sum(x => x.EntityIds.Count),
                            st.Shards.OrderBy(x => x.ShardId, StringComparer.Ordinal).Select(x => new ShardInfo(x.ShardId, x.EntityIds.Count)).ToList())
                        : new RegionNodeInfo(s.Address, 0, 0, [], s.Error))
                    .ToList();
            }
            regions.Add(new RegionInfo(typeName, nodes));
        }
        return new ShardsEvent(regions);
    }

    private string NodeAddress(Address address) =>
        address.HasLocalScope ? Cluster.Get(system).SelfAddress.ToString() : address.ToString();

    private sealed record NodeRegionState(string Address, CurrentShardRegionState? State, string? Error);

    /// <summary>`GetShardRegionState` of the region on every member that is up (or leaving), in parallel, each
    /// with a timeout; unreachable members are reported without asking.</summary>
    private async Task<List<NodeRegionState>> RegionStatesAsync(string typeName, CancellationToken ct)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var tasks = state.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving or MemberStatus.Joining)
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .Select(async m =>
            {
                var address = m.Address.ToString();
                if (unreachable.Contains(m.Address)) return new NodeRegionState(address, null, "unreachable");
                try
                {
                    var selection = system.ActorSelection(new RootActorPath(m.Address) / "system" / "sharding" / typeName);
                    var s = await selection.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout, ct);
                    return new NodeRegionState(address, s, null);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    return new NodeRegionState(address, null, $"the {typeName} region did not answer within {AskTimeout.TotalSeconds:0}s");
                }
            });
        return (await Task.WhenAll(tasks)).ToList();
    }

    // ---------------------------------------------------------------- workers

    private async Task<WorkersEvent> WorkersAsync(CancellationToken ct)
    {
        var states = await RegionStatesAsync(YoiHosting.RegionName, ct);
        var failed = states.Where(s => s.State is null).Select(s => $"{s.Address}: {s.Error}").ToList();
        var live = states
            .Where(s => s.State is not null)
            .SelectMany(s => s.State!.Shards.SelectMany(shard => shard.EntityIds.Select(id => (Name: id, Node: s.Address, Shard: shard.ShardId))))
            .ToList();

        var inspected = await Task.WhenAll(live.Select(async w =>
        {
            try
            {
                var i = await AskInspectionAsync(w.Name, ct);
                if (!i.Exists) return null; // a name someone asked about that was never created (it passivates)
                return new ClusterWorkerInfo(w.Name, Wire(i.Status), i.Node, w.Shard, i.Children, i.Entries);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return new ClusterWorkerInfo(w.Name, "unknown", w.Node, w.Shard, [], null, $"did not answer within {AskTimeout.TotalSeconds:0}s");
            }
        }));
        var workers = inspected.OfType<ClusterWorkerInfo>().ToList();

        // Workers this node's journal knows that are not live anywhere: passive (they start on the next attach).
        var liveNames = workers.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in await JournalWorkerNamesAsync(ct))
            if (!liveNames.Contains(name)) workers.Add(new ClusterWorkerInfo(name, "passive", null, null, []));

        return new WorkersEvent(workers.OrderBy(w => w.Name, StringComparer.Ordinal).ToList(), failed);
    }

    /// <summary>Top-level Worker names from the persistence ids of the journal (`worker|NAME`); empty when the
    /// journal has no query side or does not answer in time.</summary>
    private async Task<IReadOnlyList<string>> JournalWorkerNamesAsync(CancellationToken ct)
    {
        try
        {
            var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
            var ids = await journal.CurrentPersistenceIds()
                .Where(id => id.StartsWith("worker|", StringComparison.Ordinal) && !id.Contains('/'))
                .Select(id => id["worker|".Length..])
                .RunWith(Sink.Seq<string>(), system.Materializer())
                .WaitAsync(AskTimeout, ct);
            return ids;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            system.Log.Warning("workers: cannot list the journal's persistence ids: {0}", e.Message);
            return [];
        }
    }

    private Task<WorkerInspection> AskInspectionAsync(string name, CancellationToken ct) =>
        region.Ask<WorkerInspection>(replyTo => new WorkerEnvelope(name, new InspectWorker(replyTo)), AskTimeout, ct);

    private async Task<Event> InspectAsync(string name, CancellationToken ct)
    {
        if (WorkerName.Validate(name) is { } error) throw new HostMethodException(ErrorCode.InvalidRequest, error);
        var i = await AskInspectionAsync(name, ct);
        if (!i.Exists) throw new HostMethodException(ErrorCode.InvalidRequest, $"worker `{name}` does not exist");
        using var manifest = System.Text.Json.JsonDocument.Parse(i.ManifestJson ?? "{}");
        return new WorkerInspectionEvent(i.Name, Wire(i.Status), i.Node, i.SessionId, i.SegmentId, i.Entries, i.TurnCount,
            i.NotifyPending, i.Clients, i.Children,
            i.Loans.Select(l => { using var d = System.Text.Json.JsonDocument.Parse(l); return d.RootElement.Clone(); }).ToList(),
            manifest.RootElement.Clone(),
            (i.PreviousSegments ?? []).Select(p => new PreviousSegmentInfo(p.SegmentId, p.Entries, p.RotatedAt)).ToList());
    }

    private async Task<Event> RestoreAsync(string name, CancellationToken ct)
    {
        if (WorkerName.Validate(name) is { } error) throw new HostMethodException(ErrorCode.InvalidRequest, error);
        var states = await RegionStatesAsync(YoiHosting.RegionName, ct);
        var wasLive = states.Any(s => s.State?.Shards.Any(sh => sh.EntityIds.Contains(name)) == true);
        var i = await AskInspectionAsync(name, ct); // starts (recovers) the Worker if it was passive
        if (!i.Exists) throw new HostMethodException(ErrorCode.InvalidRequest, $"worker `{name}` does not exist");
        return new RestoreResultEvent(name, wasLive ? "already_live" : "restored", Wire(i.Status), i.Node);
    }

    private static string Wire(WorkerStatus s) => s.ToString().ToLowerInvariant();

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
