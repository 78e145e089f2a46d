using Akka.Cluster.Sharding;

namespace Yoi.Actors.Worker;

/// <summary>Routes <see cref="WorkerEnvelope"/>s by the root segment of the Worker's name. A top-level Worker
/// receives the inner message; a child's envelope is delivered whole so its root can forward it.</summary>
public sealed class WorkerMessageExtractor(int maxNumberOfShards = 100) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        WorkerEnvelope env => env.EntityId,
        _ => null,
    };

    public override object EntityMessage(object message) => message switch
    {
        WorkerEnvelope env when !env.WorkerName.Contains('/') => env.Message,
        _ => message,
    };
}
