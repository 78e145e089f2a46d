using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

/// <summary>Internally tagged `kind` with a fallback: an unknown kind decodes as <see cref="UnknownSegment"/>.</summary>
public sealed class SegmentConverter : JsonConverter<Segment>
{
    public override Segment Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out var kindEl) || kindEl.ValueKind != JsonValueKind.String)
            throw new JsonException("segment must be an object with a string `kind`");
        string Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()! : throw new JsonException($"segment `{kindEl.GetString()}` needs string `{name}`");
        uint U32(string name) => root.TryGetProperty(name, out var v) && v.TryGetUInt32(out var n)
            ? n : throw new JsonException($"segment `paste` needs unsigned `{name}`");
        return kindEl.GetString() switch
        {
            "text" => new TextSegment(Str("content")),
            "paste" => new PasteSegment(U32("id"), U32("chars"), U32("lines"), Str("content")),
            "file_ref" => new FileRefSegment(Str("path")),
            "flow" => new FlowSegment(Str("selector")),
            _ => new UnknownSegment(),
        };
    }

    public override void Write(Utf8JsonWriter writer, Segment value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        switch (value)
        {
            case TextSegment t:
                writer.WriteString("kind", "text"); writer.WriteString("content", t.Content); break;
            case PasteSegment p:
                writer.WriteString("kind", "paste"); writer.WriteNumber("id", p.Id); writer.WriteNumber("chars", p.Chars);
                writer.WriteNumber("lines", p.Lines); writer.WriteString("content", p.Content); break;
            case FileRefSegment f:
                writer.WriteString("kind", "file_ref"); writer.WriteString("path", f.Path); break;
            case FlowSegment fl:
                writer.WriteString("kind", "flow"); writer.WriteString("selector", fl.Selector); break;
            default:
                writer.WriteString("kind", "unknown"); break;
        }
        writer.WriteEndObject();
    }
}
