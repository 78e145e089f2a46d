using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;

namespace Yoi.Actors.Worker;

/// <summary>What a Worker actor is given by the node: how to build its model client and tools from its
/// manifest, and journal tuning. Tests substitute the factories.</summary>
public sealed record WorkerRuntime(
    Func<WorkerManifest, string, IModelClient> ModelFactory,
    Func<WorkerManifest, IReadOnlyList<ITool>> ToolFactory,
    int SnapshotEvery = 500,
    RetryPolicy? Retry = null,
    TimeSpan? IdlePassivation = null,
    Func<WorkerManifest, Yoi.Actors.Scope.IWriteLoans, IReadOnlyList<ITool>>? LoanAwareToolFactory = null,
    Yoi.Actors.Providers.ModelCatalog? Catalog = null)
{
    /// <summary>Resolves `[model] ref` in new manifests: the node's catalog (built-in + home file), else the built-in one.</summary>
    public Yoi.Actors.Providers.ModelCatalog CatalogOrBuiltin => Catalog ?? Yoi.Actors.Providers.ModelCatalog.Builtin;

    /// <summary>Builtin tools see the Worker's write loans (delegation): preferred over <c>ToolFactory</c> when set.</summary>
    public static WorkerRuntime Default { get; } = new(ModelClients.Create, manifest => Yoi.Actors.Tools.BuiltinTools.Create(manifest),
        LoanAwareToolFactory: (manifest, loans) => Yoi.Actors.Tools.BuiltinTools.Create(manifest, loans));
}
