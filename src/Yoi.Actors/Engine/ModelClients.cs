using Yoi.Actors.Manifest;

namespace Yoi.Actors.Engine;

/// <summary>Builds the model client a manifest's `[model]` section asks for.</summary>
public static class ModelClients
{
    public static IModelClient Create(WorkerManifest manifest, string workerName) => manifest.Model.Scheme switch
    {
        "scripted" => Scripted.ScriptedModelClient.FromFile(manifest.Model.Script!),
        var s => throw new ManifestException($"[model] scheme \"{s}\" is not available in this build yet"),
    };
}
