using System.Text.Json;

namespace Yoi.Messages.Json;

/// <summary>Line encode/decode used by <see cref="Method"/> and <see cref="Event"/>: every decoding
/// failure surfaces as a <see cref="JsonException"/>.</summary>
internal static class Codec
{
    public static T Decode<T>(string line) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(line, YoiJson.Options) ?? throw Null<T>();
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw new JsonException(e.Message, e);
        }
    }

    public static T Decode<T>(ReadOnlySpan<byte> utf8) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(utf8, YoiJson.Options) ?? throw Null<T>();
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw new JsonException(e.Message, e);
        }
    }

    public static string Encode<T>(T value) => JsonSerializer.Serialize(value, YoiJson.Options);

    private static JsonException Null<T>() => new($"expected a {typeof(T).Name.ToLowerInvariant()} object, got null");

    private static bool IsDecodeFailure(Exception e) =>
        e is NotSupportedException or InvalidOperationException or FormatException or OverflowException
            or ArgumentException or System.Text.DecoderFallbackException;
}
