using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>JSON Lines codec for the endpoint: one compact JSON object per line (the Yoi.Messages codecs).</summary>
public static class Wire
{
    public static Method DecodeMethod(string line) => Method.Decode(line);

    public static string Encode(Method method) => method.Encode();

    public static Event DecodeEvent(string line) => Event.Decode(line);

    public static string Encode(Event evt) => evt.Encode();

    public static string Error(ErrorCode code, string message) => Encode(new ErrorEvent(code, message));

    /// <summary>The per-connection reply to a line that is not a valid method (reference-protocol §2.1).</summary>
    public static string InvalidMethod(string detail) => Error(ErrorCode.InvalidRequest, "invalid method: " + detail);

    /// <summary>A short, single-line description of why a line failed to decode.</summary>
    public static string Describe(Exception ex) => ex.Message.ReplaceLineEndings(" ").Trim();
}
