using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Yoi.Actors.Engine;

/// <summary>Tool-call argument normalisation (reference-engine §1.1): the raw argument text is parsed; anything
/// that is not a JSON object (empty, <c>null</c>, array, scalar, invalid JSON) becomes <c>{}</c> — only for
/// re-sending a call to a provider: execution uses <see cref="TryParseObject"/> (spec README item 9). The persisted
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

    /// <summary>Compact canonical JSON of <paramref name="raw"/> after normalisation, e.g. <c>{"limit":1,"path":"a"}</c>.
    /// Used where a call is re-sent to a provider (whose APIs want an object), never to run a tool.</summary>
    public static string NormalizeToString(string? raw) => Canonical(Normalize(raw));

    /// <summary>Deviation (spec README item 9): the arguments a tool runs with are exactly those the model sent.
    /// True with the canonical object when <paramref name="raw"/> is a JSON object, or empty / whitespace (a call
    /// without arguments, e.g. an Anthropic tool_use with no input deltas, is <c>{}</c>). Anything else — invalid or
    /// cut JSON, <c>null</c>, an array, a scalar — is false with <paramref name="error"/> naming the problem.</summary>
    public static bool TryParseObject(string? raw, out JsonElement arguments, out string? error)
    {
        arguments = EmptyObject;
        error = null;
        if (string.IsNullOrWhiteSpace(raw)) return true;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = $"arguments must be a JSON object, got {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}";
                return false;
            }
            arguments = Parse(Canonical(doc.RootElement));
            return true;
        }
        catch (JsonException ex)
        {
            error = "arguments are not valid JSON: " + ex.Message;
            return false;
        }
    }

    /// <summary>The form a completed tool call is committed with: the canonical object when the text is one (or
    /// <c>{}</c> for no arguments); otherwise the text exactly as the model sent it, so the journal keeps the truth
    /// and the call gets an error result instead of running with invented arguments (spec README item 9).</summary>
    public static string AsSent(string raw) => TryParseObject(raw, out var obj, out _) ? Canonical(obj) : raw;

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
