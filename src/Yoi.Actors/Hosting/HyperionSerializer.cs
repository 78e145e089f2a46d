using System.Text.Json;
using Akka.Actor;
using Akka.Util;
using Hyperion;

namespace Yoi.Actors.Hosting;

/// <summary>Transient messages between actors (methods, events, envelopes) over Hyperion — the small
/// adapter Akka.Serialization.Hyperion would be, which is not served here. Actor refs travel as their
/// surrogates (paths), <see cref="JsonElement"/> payloads as raw JSON text.</summary>
public sealed class HyperionSerializer : Akka.Serialization.Serializer
{
    public const int Id = 4101;
    private readonly Hyperion.Serializer _serializer;

    public HyperionSerializer(ExtendedActorSystem system) : base(system)
    {
        var surrogates = new[]
        {
            Surrogate.Create<ISurrogated, ISurrogate>(from => from.ToSurrogate(system), to => to.FromSurrogate(system)),
            Surrogate.Create<JsonElement, JsonElementSurrogate>(e => new JsonElementSurrogate(e.GetRawText()), s => s.Restore()),
        };
        _serializer = new Hyperion.Serializer(new SerializerOptions(
            versionTolerance: true,
            preserveObjectReferences: true,
            surrogates: surrogates,
            serializerFactories: null,
            knownTypes: null,
            ignoreISerializable: true,
            packageNameOverrides: null,
            disallowUnsafeTypes: true,
            typeFilter: DisabledTypeFilter.Instance));
    }

    public override int Identifier => Id;
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        using var ms = new MemoryStream();
        _serializer.Serialize(obj, ms);
        return ms.ToArray();
    }

    public override object FromBinary(byte[] bytes, Type? type)
    {
        using var ms = new MemoryStream(bytes);
        return _serializer.Deserialize(ms);
    }

    public sealed record JsonElementSurrogate(string Raw)
    {
        public JsonElement Restore()
        {
            using var doc = JsonDocument.Parse(Raw);
            return doc.RootElement.Clone();
        }
    }
}
