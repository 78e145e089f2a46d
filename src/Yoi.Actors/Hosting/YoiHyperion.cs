using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Hyperion;

namespace Yoi.Actors.Hosting;

/// <summary>Transient messages between actors (methods, events, envelopes) over Akka.Serialization.Hyperion. Actor refs
/// travel as their surrogates (paths, built in by the library); <see cref="JsonElement"/> payloads as raw JSON text.
/// The surrogate goes into <see cref="HyperionSerializerSettings"/> passed to the constructor: a
/// <c>HyperionSerializerSetup</c> added with <c>AddSetup</c> is ignored when the serializer is built through
/// <c>WithCustomSerializer</c> with the <c>(system)</c> constructor.</summary>
public static class YoiHyperion
{
    public static HyperionSerializerSettings Settings { get; } = new(
        preserveObjectReferences: HyperionSerializerSettings.Default.PreserveObjectReferences,
        versionTolerance: HyperionSerializerSettings.Default.VersionTolerance,
        knownTypesProvider: HyperionSerializerSettings.Default.KnownTypesProvider,
        packageNameOverrides: HyperionSerializerSettings.Default.PackageNameOverrides,
        surrogates: [Surrogate.Create<JsonElement, JsonElementSurrogate>(e => new JsonElementSurrogate(e.GetRawText()), s => s.Restore())],
        disallowUnsafeType: true,
        typeFilter: HyperionSerializerSettings.Default.TypeFilter);

    public static HyperionSerializer Create(ExtendedActorSystem system) => new(system, Settings);

    public sealed record JsonElementSurrogate(string Raw)
    {
        public JsonElement Restore()
        {
            using var doc = JsonDocument.Parse(Raw);
            return doc.RootElement.Clone();
        }
    }
}
