using System.Text.Json;
using System.Text.Json.Serialization;

namespace Yoi.Messages.Json;

// TODO(helper A): adjacently tagged codec.
public sealed class MethodConverter : JsonConverter<Method>
{
    public override Method Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotImplementedException();
    public override void Write(Utf8JsonWriter writer, Method value, JsonSerializerOptions options) => throw new NotImplementedException();
}
