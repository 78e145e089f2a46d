using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

/// <summary>For a property typed as one derived record of a `kind`-tagged hierarchy (e.g.
/// <c>ToolResultEntry.Item</c>): writes it through the base type so the `kind` tag is included, and reads
/// it back through the base type (a value without `kind` is read as <typeparamref name="TDerived"/>).</summary>
public sealed class TaggedAsBaseConverter<TBase, TDerived> : JsonConverter<TDerived>
    where TBase : class
    where TDerived : TBase
{
    public override TDerived Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("kind", out _))
        {
            var value = root.Deserialize<TBase>(options);
            return value is TDerived d
                ? d
                : throw new JsonException($"expected a {typeof(TDerived).Name}, got {value?.GetType().Name ?? "null"}");
        }
        return root.Deserialize<TDerived>(options) ?? throw new JsonException($"null {typeof(TDerived).Name}");
    }

    public override void Write(Utf8JsonWriter writer, TDerived value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize<TBase>(writer, value, options);
}
