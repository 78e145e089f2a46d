using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Yoi.Actors.Engine;

/// <summary>Tool-call argument normalisation (reference-engine §1.1): the raw argument text is parsed; anything
/// that is not a JSON object (empty, <c>null</c>, array, scalar, invalid JSON) becomes <c>{}</c>. The persisted
/// form is the compact JSON of the normalised object with object keys sorted ordinally, recursively (the
/// reference's map type sorts keys), duplicate keys keeping the last value.</summary>
public static class ToolArguments
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The normalised argument object (always a JSON object, detached from any document).</summary>
    public static JsonElement Normalize(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return EmptyObject;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? Parse(Canonical(doc.RootElement))
                : EmptyObject;
        }
        catch (JsonException)
        {
            return EmptyObject;
        }
    }

    /// <summary>Compact canonical JSON of <paramref name="raw"/> after normalisation, e.g. <c>{"limit":1,"path":"a"}</c>.</summary>
    public static string NormalizeToString(string? raw) => Canonical(Normalize(raw));

    /// <summary>Compact JSON of <paramref name="element"/> with object keys sorted ordinally (recursively).</summary>
    public static string Canonical(JsonElement element)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            Write(writer, element);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var props = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject()) props[p.Name] = p.Value; // last duplicate wins
                w.WriteStartObject();
                foreach (var (name, value) in props)
                {
                    w.WritePropertyName(name);
                    Write(w, value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray()) Write(w, item);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }
}
