using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Yoi.Messages.Json;

/// <summary>The one set of JSON options for the wire protocol and the journal: snake_case names,
/// snake_case enum strings, nulls written unless a property says it is omitted.
/// Decoding: unknown fields are ignored; a constructor parameter with no default value and a
/// non-nullable type is required (missing ⇒ <see cref="JsonException"/>); nullable parameters
/// decode as null when absent (serde's Option rule).</summary>
public static class YoiJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = false,
            AllowOutOfOrderMetadataProperties = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequireNonOptionalParameters, OmitEmpty } },
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        o.MakeReadOnly();
        return o;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new JsonException($"null {typeof(T).Name}");

    /// <summary>Missing constructor arguments that have no default and are not nullable are errors.</summary>
    private static void RequireNonOptionalParameters(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var p in info.Properties)
        {
            if (p.AssociatedParameter is not { } param) continue;
            if (param.HasDefaultValue || param.IsMemberInitializer) continue;
            if (Nullable.GetUnderlyingType(param.ParameterType) is not null) continue;
            if (param.IsNullable && !param.ParameterType.IsValueType) continue;
            p.IsRequired = true;
        }
    }

    /// <summary>Honours <see cref="JsonOmitEmptyAttribute"/>: null, empty collections and empty
    /// <see cref="IOmittable"/> values are not written.</summary>
    private static void OmitEmpty(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var p in info.Properties)
        {
            if (p.AttributeProvider?.IsDefined(typeof(JsonOmitEmptyAttribute), inherit: true) != true) continue;
            p.ShouldSerialize = static (_, value) => !IsEmpty(value);
        }
    }

    private static bool IsEmpty(object? value) => value switch
    {
        null => true,
        IOmittable o => o.IsEmpty,
        string => false,
        ICollection c => c.Count == 0,
        IEnumerable e => !e.GetEnumerator().MoveNext(),
        _ => false,
    };
}

/// <summary>The property is not written when it is null or empty (an empty collection, or an
/// <see cref="IOmittable"/> that says it is empty).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class JsonOmitEmptyAttribute : JsonAttribute;

/// <summary>A value that may count as empty for <see cref="JsonOmitEmptyAttribute"/>.</summary>
public interface IOmittable
{
    bool IsEmpty { get; }
}
