using System.Text.Json;
using Xunit;

namespace Yoi.Messages.Tests;

public class MethodCodecTests
{
    public static TheoryData<string> EveryMethod => new()
    {
        """{"method":"run","params":{"input":[{"kind":"text","content":"see "},{"kind":"paste","id":7,"chars":11,"lines":2,"content":"line1\nline2"},{"kind":"file_ref","path":"notes.md"},{"kind":"flow","selector":"review"}]}}""",
        """{"method":"notify","params":{"message":"CI is green","auto_run":false}}""",
        """{"method":"notify","params":{"message":"CI is green"}}""",
        """{"method":"worker_event","params":{"kind":"turn_ended","worker_name":"child"}}""",
        """{"method":"worker_event","params":{"kind":"errored","worker_name":"reviewer-7","message":"provider 429"}}""",
        """{"method":"worker_event","params":{"kind":"shut_down","worker_name":"child"}}""",
        """{"method":"worker_event","params":{"kind":"scope_sub_delegated","parent_worker":"p","sub_worker":"s","sub_socket":"/run/s/sock","scope":[{"target":"/repo","permission":"write","recursive":true},{"target":"/etc","permission":"read","recursive":false}]}}""",
        """{"method":"resume"}""",
        """{"method":"cancel"}""",
        """{"method":"pause"}""",
        """{"method":"compact"}""",
        """{"method":"list_rewind_targets"}""",
        """{"method":"rewind_to","params":{"target":{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","user_input_entry_index":4},"expected_head_entries":17}}""",
        """{"method":"shutdown"}""",
        """{"method":"list_completions","params":{"kind":"file","prefix":"src/"}}""",
        """{"method":"list_workers"}""",
        """{"method":"restore_worker","params":{"name":"reviewer"}}""",
        """{"method":"register_peer","params":{"name":"bob"}}""",
        """{"method":"attach","params":{"worker":"alice"}}""",
        """{"method":"attach","params":{"worker":"alice","create":{"manifest":"/etc/yoi/alice.toml"}}}""",
        """{"method":"attach","params":{"worker":"alice","create":{"manifest_toml":"[model]\nscheme = \"scripted\"\n"}}}""",
        """{"method":"hello","params":{"token":"s3cret"}}""",
    };

    [Theory]
    [MemberData(nameof(EveryMethod))]
    public void Every_method_round_trips_byte_identical(string line)
    {
        Assert.Equal(line, Wire.ReencodeMethod(line));
    }

    [Fact]
    public void Every_wire_method_type_has_a_round_trip_sample()
    {
        var sampled = EveryMethod.Concat(HostProtocolTests.HostMethods).Select(row => Method.Decode(row.Data).GetType()).ToHashSet();
        var all = typeof(Method).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Method)) && !t.IsAbstract && t != typeof(RunTrackedMethod));
        Assert.Empty(all.Where(t => !sampled.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void Unit_methods_encode_as_bare_method_names()
    {
        Method[] units = [new ResumeMethod(), new CancelMethod(), new PauseMethod(), new CompactMethod(),
            new ListRewindTargetsMethod(), new ShutdownMethod(), new ListWorkersMethod()];
        string[] names = ["resume", "cancel", "pause", "compact", "list_rewind_targets", "shutdown", "list_workers"];
        Assert.Equal(names.Select(n => $$"""{"method":"{{n}}"}"""), units.Select(u => u.Encode()));
    }

    [Fact]
    public void Unit_method_with_params_present_ignores_them()
    {
        Assert.IsType<CancelMethod>(Method.Decode("""{"method":"cancel","params":{"x":1}}"""));
    }

    [Fact]
    public void Params_before_method_tag_decodes()
    {
        var m = Assert.IsType<RestoreWorkerMethod>(Method.Decode("""{"params":{"name":"w"},"method":"restore_worker"}"""));
        Assert.Equal("w", m.Name);
    }

    [Fact]
    public void Worker_event_params_is_the_tagged_worker_event_itself()
    {
        var m = new WorkerEventMethod(new TurnEndedWorkerEvent("child"));
        Assert.Equal("""{"method":"worker_event","params":{"kind":"turn_ended","worker_name":"child"}}""", m.Encode());
        var back = Assert.IsType<WorkerEventMethod>(Method.Decode(m.Encode()));
        Assert.Equal(new TurnEndedWorkerEvent("child"), back.Event);
    }

    [Fact]
    public void Rewind_to_decodes_target_fields()
    {
        var m = Assert.IsType<RewindToMethod>(Method.Decode(
            """{"method":"rewind_to","params":{"target":{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","user_input_entry_index":4},"expected_head_entries":17}}"""));
        Assert.Equal(new RewindTargetId(Guid.Parse("0192f0e8-4d84-7d6e-a000-00000000000a"), 4), m.Target);
        Assert.Equal(17, m.ExpectedHeadEntries);
    }

    [Fact]
    public void Unknown_fields_inside_params_are_ignored()
    {
        var m = Assert.IsType<NotifyMethod>(Method.Decode("""{"method":"notify","params":{"message":"m","future":[1,2],"auto_run":false}}"""));
        Assert.Equal(new NotifyMethod("m", false), m);
    }

    [Fact]
    public void Encoding_is_compact_and_does_not_escape_non_ascii_or_html()
    {
        Assert.Equal("""{"method":"notify","params":{"message":"<ok> & 'é' 日本"}}""", new NotifyMethod("<ok> & 'é' 日本").Encode());
    }

    [Fact]
    public void Method_serializes_through_plain_JsonSerializer_with_YoiJson_options()
    {
        Method m = new RestoreWorkerMethod("w");
        Assert.Equal("""{"method":"restore_worker","params":{"name":"w"}}""", JsonSerializer.Serialize(m, Json.YoiJson.Options));
    }
}

public class MethodDecodeErrorTests
{
    [Fact]
    public void Malformed_json_is_rejected()
    {
        Assert.ThrowsAny<JsonException>(() => Method.Decode("{not-json}"));
    }

    [Fact]
    public void Object_without_method_tag_is_rejected_naming_the_field()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"bad":"json"}"""));
        Assert.Contains("method", e.Message);
    }

    [Fact]
    public void Unknown_method_name_is_rejected_naming_it()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"method":"explode","params":{}}"""));
        Assert.Contains("explode", e.Message);
    }

    [Fact]
    public void Non_object_line_is_rejected()
    {
        Assert.ThrowsAny<JsonException>(() => Method.Decode("[1,2]"));
        Assert.ThrowsAny<JsonException>(() => Method.Decode("\"pause\""));
        Assert.ThrowsAny<JsonException>(() => Method.Decode("null"));
        Assert.ThrowsAny<JsonException>(() => Method.Decode(""));
    }

    [Fact]
    public void Non_string_method_tag_is_rejected()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":7}"""));
    }

    [Fact]
    public void Missing_params_for_a_method_with_fields_is_rejected()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"method":"run"}"""));
        Assert.Contains("params", e.Message);
    }

    [Fact]
    public void Missing_required_field_is_rejected_naming_it()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"method":"notify","params":{"auto_run":false}}"""));
        Assert.Contains("message", e.Message);
    }

    [Fact]
    public void Missing_required_nested_field_is_rejected()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"rewind_to","params":{"target":{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a"},"expected_head_entries":1}}"""));
    }

    [Fact]
    public void Wrong_field_type_is_rejected()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"notify","params":{"message":5}}"""));
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"run","params":{"input":"hello"}}"""));
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"list_completions","params":{"kind":"folder","prefix":""}}"""));
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"rewind_to","params":{"target":{"segment_id":"nope","user_input_entry_index":1},"expected_head_entries":1}}"""));
    }

    [Fact]
    public void Params_that_is_not_an_object_is_rejected()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"run","params":[1]}"""));
    }

    [Fact]
    public void Worker_event_with_unknown_kind_is_rejected()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"worker_event","params":{"kind":"exploded","worker_name":"c"}}"""));
    }

    [Fact]
    public void Trailing_garbage_after_the_object_is_rejected()
    {
        Assert.ThrowsAny<JsonException>(() => Method.Decode("""{"method":"pause"} {"method":"pause"}"""));
    }

    [Fact]
    public void Surrounding_whitespace_is_tolerated()
    {
        Assert.IsType<PauseMethod>(Method.Decode("  {\"method\":\"pause\"}\n"));
    }

    [Fact]
    public void Invalid_utf8_bytes_are_rejected()
    {
        byte[] bytes = [.. "{\"method\":\"notify\",\"params\":{\"message\":\""u8, 0xff, 0xfe, .. "\"}}"u8];
        Assert.ThrowsAny<JsonException>(() => Method.Decode(bytes));
    }
}
