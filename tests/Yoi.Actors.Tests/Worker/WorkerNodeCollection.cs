namespace Yoi.Actors.Tests.Worker;

/// <summary>All Worker tests share one node (a cluster takes seconds to form); each uses its own Worker names.</summary>
[CollectionDefinition(Name)]
public sealed class WorkerNodeCollection : ICollectionFixture<WorkerNodeFixture>
{
    public const string Name = "worker-node";
}
