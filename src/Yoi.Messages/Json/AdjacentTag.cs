using System.Text.Json;

namespace Yoi.Messages.Json;

/// <summary>Shared machinery of the adjacently tagged codecs (`{"method":…,"params":…}`,
/// `{"event":…,"data":…}`): a name ↔ type table and the read/write of one tagged object.</summary>
internal sealed class AdjacentTag<TBase> where TBase : class
{
    private readonly string _tag;
    private readonly string _content;
    private readonly string _what;
    private readonly Dictionary<string, Type> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _byType = new();
    private readonly Dictionary<Type, Func<TBase>> _units = new();

    public AdjacentTag(string tag, string content, string what)
    {
        _tag = tag;
        _content = content;
        _what = what;
    }

    /// <summary>A variant whose payload is the record's own properties.</summary>
    public AdjacentTag<TBase> Add<T>(string name) where T : TBase
    {
        _byName.Add(name, typeof(T));
        _byType.Add(typeof(T), name);
        return this;
    }

    /// <summary>A unit variant: no content key.</summary>
    public AdjacentTag<TBase> Unit<T>(string name) where T : TBase, new()
    {
        Add<T>(name);
        _units.Add(typeof(T), static () => new T());
        return this;
    }

    /// <summary>Reads the tag and content. <paramref name="special"/> may decode a variant's content itself
    /// (null ⇒ the record's own decoding); <paramref name="rejected"/> names tags that are never accepted.</summary>
    public TBase Read(ref Utf8JsonReader reader, JsonSerializerOptions options,
        Func<string, JsonElement, TBase?>? special = null, Func<string, string?>? rejected = null)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"{_what} must be a JSON object, got {Describe(reader.TokenType)}");
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        if (!root.TryGetProperty(_tag, out var tagEl))
            throw new JsonException($"missing field `{_tag}`");
        if (tagEl.ValueKind != JsonValueKind.String)
            throw new JsonException($"field `{_tag}` must be a string, got {tagEl.ValueKind.ToString().ToLowerInvariant()}");
        var name = tagEl.GetString()!;
        if (rejected?.Invoke(name) is { } why)
            throw new JsonException(why);
        if (!_byName.TryGetValue(name, out var type))
            throw new JsonException($"unknown {_what} `{name}`, expected one of {string.Join(", ", _byName.Keys.Select(k => $"`{k}`"))}");
        if (_units.TryGetValue(type, out var make))
            return make(); // content, if any, is ignored
        if (!root.TryGetProperty(_content, out var content) || content.ValueKind == JsonValueKind.Null)
            throw new JsonException($"{_what} `{name}`: missing field `{_content}`");
        if (content.ValueKind != JsonValueKind.Object)
            throw new JsonException($"{_what} `{name}`: `{_content}` must be an object, got {content.ValueKind.ToString().ToLowerInvariant()}");
        try
        {
            if (special?.Invoke(name, content) is { } decoded) return decoded;
            return (TBase)(content.Deserialize(type, options)
                ?? throw new JsonException($"{_what} `{name}`: null `{_content}`"));
        }
        catch (JsonException e)
        {
            throw new JsonException($"{_what} `{name}`: {e.Message}", e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new JsonException($"{_what} `{name}`: {e.Message}", e);
        }
    }

    /// <summary>Writes `{tag: name, content: …}`; <paramref name="special"/> may take over the content
    /// (returns true when it wrote it).</summary>
    public void Write(Utf8JsonWriter writer, TBase value, JsonSerializerOptions options,
        Func<Utf8JsonWriter, TBase, bool>? special = null)
    {
        var type = value.GetType();
        if (!_byType.TryGetValue(type, out var name))
            throw new JsonException($"{type.Name} cannot be encoded as a {_what}");
        writer.WriteStartObject();
        writer.WriteString(_tag, name);
        if (!_units.ContainsKey(type))
        {
            writer.WritePropertyName(_content);
            if (special is null || !special(writer, value))
                JsonSerializer.Serialize(writer, value, type, options);
        }
        writer.WriteEndObject();
    }

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
