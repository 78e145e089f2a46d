using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http;

/// <summary>The node's health checks, registered on the Akka.Hosting builder (they land in the host's
/// <see cref="HealthCheckService"/>). <c>live</c>: the actor system runs. <c>ready</c>: this member is Up and serving (its
/// membership gate open), the `worker` region is registered, and the journal and the snapshot store answer a read.</summary>
public static class YoiHealthChecks
{
    public const string Live = "live";
    public const string Ready = "ready";
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(5);

    public static AkkaConfigurationBuilder AddYoiHealthChecks(this AkkaConfigurationBuilder b) => b
        .WithActorSystemLivenessCheck(tags: [Live, Ready])
        .WithAkkaClusterReadinessCheck(tags: [Ready])
        // The membership gate's verdict: a node on the minority side of a partition, just thawed from a freeze, or
        // downed serves no client, so it is not ready either (a load balancer then routes its clients elsewhere).
        .WithHealthCheck("membership", (system, _, _) => Task.FromResult(Membership(MembershipGate.Get(system))), tags: [Ready])
        .WithHealthCheck("worker-region", (_, registry, _) => Task.FromResult(registry.TryGet<WorkerRegion>(out _)
            ? HealthCheckResult.Healthy("the worker shard region is registered")
            : HealthCheckResult.Unhealthy("the worker shard region is not registered yet")), tags: [Ready])
        // Store reachability is checked here through the plugins themselves (a real read round trip): the SQL health
        // checks of Akka.Persistence.Sql.Hosting do not work with our HOCON-configured plugins.
        .WithHealthCheck("journal", JournalAsync, tags: [Ready], timeout: StoreTimeout)
        .WithHealthCheck("snapshot-store", SnapshotStoreAsync, tags: [Ready], timeout: StoreTimeout);

    /// <summary>Runs the checks tagged <paramref name="tag"/> through the host's <see cref="HealthCheckService"/>: the one
    /// path behind `/healthz`, `/readyz` and the `health` host method, so they never disagree.</summary>
    public static async Task<HealthEvent> RunAsync(HealthCheckService health, string tag, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(tag), ct);
        return new HealthEvent(
            report.Status == HealthStatus.Healthy,
            report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => new HealthCheckInfo(e.Key, e.Value.Status == HealthStatus.Healthy ? "healthy" : "unhealthy", e.Value.Description))
                .ToList());
    }

    private static HealthCheckResult Membership(MembershipGate gate) => gate.MembershipConfirmed
        ? HealthCheckResult.Healthy("serving clients: membership confirmed")
        : HealthCheckResult.Unhealthy("serving no client: " + gate.Reason);

    private const string ProbeId = "yoi-health-probe";

    private static async Task<HealthCheckResult> JournalAsync(ActorSystem system, ActorRegistry registry, CancellationToken ct)
    {
        try
        {
            var journal = Persistence.Instance.Apply(system).JournalFor(null);
            // ReplayMessages reads the highest sequence number from the database, then replays (none): RecoverySuccess.
            var reply = await journal.Ask<object>(r => new ReplayMessages(1, 0, 0, ProbeId, r), StoreTimeout, ct);
            return reply is RecoverySuccess
                ? HealthCheckResult.Healthy("journal answered")
                : HealthCheckResult.Unhealthy("journal: " + Describe(reply));
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("journal unreachable: " + e.Message);
        }
    }

    private static async Task<HealthCheckResult> SnapshotStoreAsync(ActorSystem system, ActorRegistry registry, CancellationToken ct)
    {
        try
        {
            var store = Persistence.Instance.Apply(system).SnapshotStoreFor(null);
            var reply = await store.Ask<object>(new LoadSnapshot(ProbeId, SnapshotSelectionCriteria.Latest, long.MaxValue), StoreTimeout, ct);
            return reply is LoadSnapshotResult
                ? HealthCheckResult.Healthy("snapshot store answered")
                : HealthCheckResult.Unhealthy("snapshot store: " + Describe(reply));
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("snapshot store unreachable: " + e.Message);
        }
    }

    private static string Describe(object reply) => reply switch
    {
        ReplayMessagesFailure f => f.Cause.Message,
        LoadSnapshotFailed f => f.Cause.Message,
        _ => reply.GetType().Name,
    };
}
