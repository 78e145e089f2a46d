using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Yoi.Actors.Host;

/// <summary>`yoi serve` exit status, from why the node's actor system shut down (CoordinatedShutdown's reason), so a
/// supervisor (docker-compose `restart: on-failure`, systemd `Restart=on-failure`) restarts a node that the cluster
/// threw out and leaves alone one that was asked to stop.</summary>
public static class NodeExit
{
    /// <summary>SIGTERM / Ctrl-C / `yoi cluster leave`: a graceful leave (Workers handed off).</summary>
    public const int Graceful = 0;

    /// <summary>Startup or runtime failure (bad options, journal unreachable at start…).</summary>
    public const int Failure = 1;

    /// <summary>The split-brain resolver (or an operator's `yoi cluster down`) downed this node, or the others removed
    /// it (quarantine after a freeze or partition). Its Workers now live on other nodes; restart it to rejoin.</summary>
    public const int Downed = 3;

    /// <summary>The node could not join its seed nodes within `akka.cluster.shutdown-after-unsuccessful-join-seed-nodes`.</summary>
    public const int JoinFailed = 4;

    public static int For(CoordinatedShutdown.Reason? reason) => reason switch
    {
        CoordinatedShutdown.ClusterDowningReason => Downed,
        CoordinatedShutdown.ClusterJoinUnsuccessfulReason => JoinFailed,
        _ => Graceful,
    };

    /// <summary>The node's CoordinatedShutdown, taken while the actor system runs (its reason is read after it stopped).</summary>
    public static CoordinatedShutdown? Watch(IHost host) =>
        host.Services.GetService<ActorSystem>() is { } system ? CoordinatedShutdown.Get(system) : null;
}
