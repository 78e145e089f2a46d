using System.Text.Json;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

/// <summary>Test helpers: decode then re-encode, so equality is checked on the wire form
/// (records holding lists or JsonElements do not have value equality).</summary>
internal static class Wire
{
    public static string ReencodeMethod(string line) => Method.Decode(line).Encode();

    public static string ReencodeEvent(string line) => Event.Decode(line).Encode();

    public static string Reencode<T>(string json) => YoiJson.Serialize(YoiJson.Deserialize<T>(json));

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
