using System.Text.Json;
using Xunit;

namespace Yoi.Messages.Tests;

public class EventCodecTests
{
    /// <summary>One sample line per event shape (events.jsonl, copied next to the test assembly).</summary>
    public static TheoryData<string> EveryEvent => new(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "events.jsonl"))
        .Where(l => l.Length > 0));

    [Theory]
    [MemberData(nameof(EveryEvent))]
    public void Every_event_round_trips_byte_identical(string line)
    {
        Assert.Equal(line, Wire.ReencodeEvent(line));
    }

    [Fact]
    public void Every_event_type_has_a_round_trip_sample()
    {
        var sampled = EveryEvent.Concat(HostProtocolTests.HostEvents).Select(row => Event.Decode(row.Data).GetType()).ToHashSet();
        var all = typeof(Event).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Event)) && !t.IsAbstract);
        Assert.Empty(all.Where(t => !sampled.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void Event_names_are_the_record_name_minus_Event_in_snake_case()
    {
        Assert.Equal("status", Wire.Json(new StatusEvent(WorkerStatus.Idle).Encode()).GetProperty("event").GetString());
        Assert.Equal("llm_call_start", Wire.Json(new LlmCallStartEvent(0).Encode()).GetProperty("event").GetString());
        Assert.Equal("tool_call_args_delta", Wire.Json(new ToolCallArgsDeltaEvent("i", "{").Encode()).GetProperty("event").GetString());
        Assert.Equal("internal_worker_removed",
            Wire.Json(new InternalWorkerRemovedEvent(Wire.Json("{}"), 1).Encode()).GetProperty("event").GetString());
    }

    [Fact]
    public void Usage_writes_absent_token_counts_as_null_and_omits_absent_cache_read()
    {
        Assert.Equal("""{"event":"usage","data":{"input_tokens":null,"output_tokens":7}}""", new UsageEvent(null, 7).Encode());
    }

    [Fact]
    public void Usage_lacking_token_counts_decodes_them_as_null()
    {
        var u = Assert.IsType<UsageEvent>(Event.Decode("""{"event":"usage","data":{}}"""));
        Assert.Null(u.InputTokens);
        Assert.Null(u.OutputTokens);
        Assert.Null(u.CacheReadInputTokens);
    }

    [Fact]
    public void Llm_retry_without_status_omits_status()
    {
        var json = new LlmRetryEvent(1, 1, 3, 100, 5, null, "boom").Encode();
        Assert.Equal("""{"event":"llm_retry","data":{"llm_call":1,"failed_attempt":1,"max_attempts":3,"wait_ms":100,"elapsed_ms":5,"error":"boom"}}""", json);
    }

    [Fact]
    public void Rewind_target_writes_absent_timestamp_as_null_and_omits_absent_reason_and_warning()
    {
        var t = new RewindTarget(new RewindTargetId(Guid.Parse("0192f0e8-4d84-7d6e-a000-00000000000a"), 2), 5, 1, 1, null, "p", true);
        Assert.Equal(
            """{"id":{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","user_input_entry_index":2},"expected_head_entries":5,"truncate_entries":1,"turn_index":1,"timestamp_ms":null,"preview":"p","eligible":true}""",
            Json.YoiJson.Serialize(t));
    }

    [Fact]
    public void Completion_entry_without_is_dir_decodes_false()
    {
        var c = Assert.IsType<CompletionsEvent>(Event.Decode("""{"event":"completions","data":{"kind":"file","entries":[{"value":"src/main.rs"}]}}"""));
        Assert.Equal("src/main.rs", c.Entries[0].Value);
        Assert.False(c.Entries[0].IsDir);
    }

    [Fact]
    public void Snapshot_with_empty_in_flight_and_internal_workers_omits_both()
    {
        var snap = new SnapshotEvent([], new Greeting("w", "", "unknown", "m", "", []), WorkerStatus.Idle, new InFlightSnapshot([], []), []);
        Assert.Equal(
            """{"event":"snapshot","data":{"entries":[],"greeting":{"worker_name":"w","cwd":"","provider":"unknown","model":"m","scope_summary":"","tools":[],"context_window":0,"context_tokens":0},"status":"idle"}}""",
            snap.Encode());
    }

    [Fact]
    public void In_flight_with_only_commands_omits_blocks()
    {
        var snap = new SnapshotEvent([], new Greeting("w", "", "unknown", "m", "", []), WorkerStatus.Running,
            new InFlightSnapshot([], [Wire.Json("""{"command_id":"c"}""")]));
        Assert.Contains("""
            "in_flight":{"commands":[{"command_id":"c"}]}
            """, snap.Encode());
    }

    [Fact]
    public void Internal_worker_nests_a_full_event()
    {
        var e = Assert.IsType<InternalWorkerEvent>(Event.Decode(
            """{"event":"internal_worker","data":{"worker":{"name":"sub"},"revision":1,"event":{"event":"error","data":{"code":"internal","message":"internal Worker output lagged by 3 events; reconnect to resynchronize"}}}}"""));
        var inner = Assert.IsType<ErrorEvent>(e.Event);
        Assert.Equal(ErrorCode.Internal, inner.Code);
    }

    [Fact]
    public void Decoding_unknown_event_name_fails()
    {
        var e = Assert.Throws<JsonException>(() => Event.Decode("""{"event":"teleport","data":{}}"""));
        Assert.Contains("teleport", e.Message);
    }

    [Fact]
    public void Decoding_event_without_data_fails_for_events_with_fields()
    {
        Assert.Throws<JsonException>(() => Event.Decode("""{"event":"status"}"""));
    }

    [Fact]
    public void Decoding_event_with_unknown_status_value_fails()
    {
        Assert.Throws<JsonException>(() => Event.Decode("""{"event":"status","data":{"status":"sleeping"}}"""));
    }

    [Fact]
    public void Decoding_event_ignores_unknown_data_fields()
    {
        Assert.Equal(new StatusEvent(WorkerStatus.Running), Event.Decode("""{"event":"status","data":{"status":"running","extra":{"a":1}}}"""));
    }
}
