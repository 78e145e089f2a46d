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
    /// <remarks>Peeks for `kind` on a copy of the reader and decodes from the reader itself (no JsonDocument and second
    /// decode per value: every tool result of a recovered session comes through here).</remarks>
    public override TDerived Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (HasKind(reader))
        {
            var value = JsonSerializer.Deserialize<TBase>(ref reader, options);
            return value is TDerived d
                ? d
                : throw new JsonException($"expected a {typeof(TDerived).Name}, got {value?.GetType().Name ?? "null"}");
        }
        return JsonSerializer.Deserialize<TDerived>(ref reader, options) ?? throw new JsonException($"null {typeof(TDerived).Name}");
    }

    /// <summary>Whether the object at the reader has a top-level `kind` property (the reader is a copy).</summary>
    private static bool HasKind(Utf8JsonReader probe)
    {
        if (probe.TokenType != JsonTokenType.StartObject) return false;
        while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
        {
            if (probe.ValueTextEquals("kind"u8)) return true;
            probe.Read();
            probe.Skip();
        }
        return false;
    }

    public override void Write(Utf8JsonWriter writer, TDerived value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize<TBase>(writer, value, options);
}
