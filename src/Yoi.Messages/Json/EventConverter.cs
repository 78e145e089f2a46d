using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

// TODO(helper A): adjacently tagged codec.
public sealed class EventConverter : JsonConverter<Event>
{
    public override Event Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotImplementedException();
    public override void Write(Utf8JsonWriter writer, Event value, JsonSerializerOptions options) => throw new NotImplementedException();
}
