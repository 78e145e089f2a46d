using Xunit;

namespace Yoi.Messages.Tests;

/// <summary>reference-protocol §10, behaviours 6–9 (codec level).</summary>
public class EventAcceptanceTests
{
    [Fact]
    public void Unit_events_encode_without_data()
    {
        Assert.Equal("""{"event":"compact_start"}""", new CompactStartEvent().Encode());
        Assert.Equal("""{"event":"thinking_start"}""", new ThinkingStartEvent().Encode());
        Assert.Equal("""{"event":"shutdown"}""", new ShutdownEvent().Encode());
    }

    [Fact]
    public void Run_end_limit_reached_encodes_result_limit_reached()
    {
        var json = Wire.Json(new RunEndEvent(RunResult.LimitReached).Encode());
        Assert.Equal("limit_reached", json.GetProperty("data").GetProperty("result").GetString());
        Assert.Equal("""{"event":"run_end","data":{"result":"limit_reached"}}""", new RunEndEvent(RunResult.LimitReached).Encode());
    }

    [Fact]
    public void Tool_result_without_output_has_no_output_key()
    {
        var json = new ToolResultEvent("toolu_1", "ok", Output: null).Encode();
        Assert.False(Wire.Json(json).GetProperty("data").TryGetProperty("output", out _));
        Assert.Equal("""{"event":"tool_result","data":{"id":"toolu_1","summary":"ok","is_error":false}}""", json);
    }

    [Fact]
    public void Inbound_tool_result_without_is_error_decodes_false()
    {
        var e = Assert.IsType<ToolResultEvent>(Event.Decode("""{"event":"tool_result","data":{"id":"toolu_1","summary":"ok"}}"""));
        Assert.False(e.IsError);
        Assert.Null(e.Output);
    }

    [Fact]
    public void Snapshot_lacking_optional_fields_decodes_with_defaults()
    {
        const string line = """{"event":"snapshot","data":{"entries":[],"greeting":{"worker_name":"w","cwd":"","provider":"unknown","model":"m","scope_summary":"","tools":[]}}}""";
        var s = Assert.IsType<SnapshotEvent>(Event.Decode(line));
        Assert.Equal(WorkerStatus.Idle, s.Status);
        Assert.True(s.InFlight is null || s.InFlight.IsEmpty);
        Assert.Empty(s.InternalWorkers ?? []);
        Assert.Equal(0UL, s.Greeting.ContextWindow);
        Assert.Equal(0UL, s.Greeting.ContextTokens);
        Assert.Empty(s.Entries);
    }

    [Fact]
    public void In_flight_unfinished_text_and_pending_tool_call_omit_finished_and_state()
    {
        var snap = new SnapshotEvent([], new Greeting("w", "", "unknown", "m", "", []), WorkerStatus.Running,
            new InFlightSnapshot([new InFlightText("par", Finished: false), new InFlightToolCall("c1", "Read", "", InFlightToolCallState.Pending)]));
        var json = snap.Encode();
        Assert.Contains("""{"kind":"text","text":"par"}""", json);
        Assert.Contains("""{"kind":"tool_call","id":"c1","name":"Read","args":""}""", json);
        Assert.DoesNotContain("finished", json);
        Assert.DoesNotContain("state", json);
    }

    [Fact]
    public void In_flight_streaming_args_state_is_spelled_streaming_args()
    {
        var snap = new SnapshotEvent([], new Greeting("w", "", "unknown", "m", "", []), WorkerStatus.Running,
            new InFlightSnapshot([new InFlightToolCall("c1", "Read", "{\"a", InFlightToolCallState.StreamingArgs)]));
        Assert.Contains("\"state\":\"streaming_args\"", snap.Encode());
    }

    [Fact]
    public void In_flight_finished_text_writes_finished_true_and_done_tool_call_writes_state()
    {
        var snap = new SnapshotEvent([], new Greeting("w", "", "unknown", "m", "", []), WorkerStatus.Running,
            new InFlightSnapshot([new InFlightText("t", true), new InFlightToolCall("c1", "Read", "{}", InFlightToolCallState.Done)]));
        var json = snap.Encode();
        Assert.Contains("""{"kind":"text","text":"t","finished":true}""", json);
        Assert.Contains("""{"kind":"tool_call","id":"c1","name":"Read","args":"{}","state":"done"}""", json);
    }
}
