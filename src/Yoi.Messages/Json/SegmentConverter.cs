using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

/// <summary>Internally tagged `kind` with a fallback: an unknown kind decodes as <see cref="UnknownSegment"/>.</summary>
public sealed class SegmentConverter : JsonConverter<Segment>
{
    /// <remarks>Read straight off the reader (no JsonDocument per segment): a journal recovery decodes every user
    /// input's segments.</remarks>
    public override Segment Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException("segment must be an object with a string `kind`");
        string? kind = null, content = null, path = null, selector = null;
        uint? id = null, chars = null, lines = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "kind": kind = reader.TokenType == JsonTokenType.String ? reader.GetString() : null; break;
                case "content": content = String(ref reader); break;
                case "path": path = String(ref reader); break;
                case "selector": selector = String(ref reader); break;
                case "id": id = U32(ref reader); break;
                case "chars": chars = U32(ref reader); break;
                case "lines": lines = U32(ref reader); break;
                default: reader.Skip(); break;
            }
        }
        if (kind is null) throw new JsonException("segment must be an object with a string `kind`");
        string Str(string? value, string name) => value ?? throw new JsonException($"segment `{kind}` needs string `{name}`");
        uint Num(uint? value, string name) => value ?? throw new JsonException($"segment `paste` needs unsigned `{name}`");
        return kind switch
        {
            "text" => new TextSegment(Str(content, "content")),
            "paste" => new PasteSegment(Num(id, "id"), Num(chars, "chars"), Num(lines, "lines"), Str(content, "content")),
            "file_ref" => new FileRefSegment(Str(path, "path")),
            "flow" => new FlowSegment(Str(selector, "selector")),
            _ => new UnknownSegment(),
        };
    }

    private static string? String(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String) return reader.GetString();
        reader.Skip();
        return null;
    }

    private static uint? U32(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt32(out var n)) return n;
        reader.Skip();
        return null;
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
