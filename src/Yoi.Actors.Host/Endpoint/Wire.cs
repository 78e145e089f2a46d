using System.Buffers;
using System.Text.Json;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>JSON Lines codec for the endpoint: one compact JSON object per line (the Yoi.Messages codecs).</summary>
public static class Wire
{
    public static Method DecodeMethod(string line) => Method.Decode(line);

    /// <summary>Decodes a line as read from the socket, without copying it into one array or a string first (a line
    /// may be tens of MB). Invalid UTF-8 is a decoding failure, as is anything after the JSON value.</summary>
    public static Method DecodeMethod(ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment) return Method.Decode(line.FirstSpan);
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = YoiJson.Options.MaxDepth });
            var method = JsonSerializer.Deserialize<Method>(ref reader, YoiJson.Options)
                         ?? throw new JsonException("expected a method object, got null");
            if (reader.Read()) throw new JsonException($"'{(char)reader.ValueSpan[0]}' is invalid after a single JSON value");
            return method;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or FormatException or OverflowException
                                      or ArgumentException or System.Text.DecoderFallbackException)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <summary>True for a line of only spaces, tabs and carriage returns (skipped, as the reference does).</summary>
    public static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
            if (segment.Span.IndexOfAnyExcept((byte)' ', (byte)'\t', (byte)'\r') >= 0) return false;
        return true;
    }

    /// <summary>The `method` member of a line, for error messages ("?" when there is none).</summary>
    public static string MethodName(ReadOnlySequence<byte> line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("method", out var m) ? m.GetString() ?? "?" : "?";
        }
        catch { return "?"; }
    }

    public static string Encode(Method method) => method.Encode();

    public static Event DecodeEvent(string line) => Event.Decode(line);

    public static string Encode(Event evt) => evt.Encode();

    public static string Error(ErrorCode code, string message) => Encode(new ErrorEvent(code, message));

    /// <summary>The per-connection reply to a line that is not a valid method (reference-protocol §2.1).</summary>
    public static string InvalidMethod(string detail) => Error(ErrorCode.InvalidRequest, "invalid method: " + detail);

    /// <summary>A short, single-line description of why a line failed to decode.</summary>
    public static string Describe(Exception ex) => ex.Message.ReplaceLineEndings(" ").Trim();
}
