using System.Text.Json;
using Xunit;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

public class LogEntryTests
{
    public static TheoryData<string> EveryEntry => new(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "entries.jsonl"))
        .Where(l => l.Length > 0));

    [Theory]
    [MemberData(nameof(EveryEntry))]
    public void Every_log_entry_round_trips_byte_identical(string line)
    {
        Assert.Equal(line, Wire.Reencode<LogEntry>(line));
    }

    [Fact]
    public void Every_log_entry_kind_has_a_round_trip_sample()
    {
        var sampled = EveryEntry.Select(row => YoiJson.Deserialize<LogEntry>(row.Data).GetType()).ToHashSet();
        var all = typeof(LogEntry).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(LogEntry)) && !t.IsAbstract);
        Assert.Empty(all.Where(t => !sampled.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void Log_entry_writes_kind_first_and_ts_second()
    {
        LogEntry e = new TurnEndEntry(3) { Ts = 42 };
        Assert.Equal("""{"kind":"turn_end","ts":42,"turn_count":3}""", YoiJson.Serialize(e));
    }

    [Fact]
    public void Log_entry_with_kind_after_other_fields_decodes()
    {
        var e = Assert.IsType<RunErroredEntry>(YoiJson.Deserialize<LogEntry>("""{"ts":5,"interrupted":true,"message":"boom","kind":"run_errored"}"""));
        Assert.Equal(new RunErroredEntry(true, "boom") { Ts = 5 }, e);
    }

    [Fact]
    public void Segment_start_config_writes_every_field_including_nulls()
    {
        LogEntry e = new SegmentStartEntry(Guid.Parse("0192f0e8-4d84-7d6e-a000-000000000001"), null, new RequestConfig(MaxTokens: 100), []) { Ts = 1 };
        Assert.Equal(
            """{"kind":"segment_start","ts":1,"session_id":"0192f0e8-4d84-7d6e-a000-000000000001","system_prompt":null,"config":{"max_tokens":100,"temperature":null,"top_p":null,"top_k":null,"stop_sequences":[],"reasoning":null},"history":[]}""",
            YoiJson.Serialize(e));
    }

    [Fact]
    public void Request_config_reasoning_accepts_an_effort_label_or_a_budget()
    {
        var label = YoiJson.Deserialize<RequestConfig>("""{"reasoning":"high"}""");
        var budget = YoiJson.Deserialize<RequestConfig>("""{"reasoning":-1}""");
        Assert.Equal("high", label.Reasoning!.Value.GetString());
        Assert.Equal(-1, budget.Reasoning!.Value.GetInt32());
    }

    [Fact]
    public void Request_config_null_stop_sequences_read_as_empty()
    {
        Assert.Empty(YoiJson.Deserialize<RequestConfig>("""{"stop_sequences":null}""").StopSequences);
        Assert.Empty(new RequestConfig().StopSequences);
    }

    [Fact]
    public void User_input_omits_empty_extensions()
    {
        LogEntry e = new UserInputEntry([new TextSegment("x")], []) { Ts = 3 };
        Assert.Equal("""{"kind":"user_input","ts":3,"segments":[{"kind":"text","content":"x"}]}""", YoiJson.Serialize(e));
    }

    [Fact]
    public void Segment_start_omits_absent_fork_and_compaction_origins()
    {
        var json = YoiJson.Serialize<LogEntry>(new SegmentStartEntry(Guid.Empty, "p", RequestConfig.Default, []) { Ts = 1 });
        Assert.DoesNotContain("forked_from", json);
        Assert.DoesNotContain("compacted_from", json);
    }

    [Fact]
    public void Tool_result_entry_writes_its_item_with_the_tool_result_kind()
    {
        LogEntry e = new ToolResultEntry(new ToolResultItem("c1", "ok")) { Ts = 5 };
        Assert.Equal("""{"kind":"tool_result","ts":5,"item":{"kind":"tool_result","call_id":"c1","summary":"ok"}}""", YoiJson.Serialize(e));
    }

    [Fact]
    public void Tool_result_entry_item_without_kind_still_decodes()
    {
        var e = Assert.IsType<ToolResultEntry>(YoiJson.Deserialize<LogEntry>("""{"kind":"tool_result","ts":5,"item":{"call_id":"c1","summary":"ok"}}"""));
        Assert.Equal(new ToolResultItem("c1", "ok"), e.Item);
    }

    [Fact]
    public void Unknown_log_entry_kind_fails_to_decode()
    {
        Assert.ThrowsAny<Exception>(() => YoiJson.Deserialize<LogEntry>("""{"kind":"teleport","ts":1}"""));
    }

    [Fact]
    public void Log_entry_decodes_through_the_entry_journal_manifest()
    {
        LogEntry e = new InvokeEntry(InvokeKind.UserSend) { Ts = 2 };
        Assert.Equal("entry", JournalManifest.Of(e));
        var bytes = JsonSerializer.SerializeToUtf8Bytes(e, YoiJson.Options);
        var back = JsonSerializer.Deserialize(bytes, JournalManifest.TypeOf("entry"), YoiJson.Options);
        Assert.Equal(e, back);
    }
}

public class SystemItemTests
{
    public static TheoryData<string> EveryItem => new(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "system_items.jsonl"))
        .Where(l => l.Length > 0));

    [Theory]
    [MemberData(nameof(EveryItem))]
    public void Every_system_item_round_trips_byte_identical(string line)
    {
        Assert.Equal(line, Wire.Reencode<SystemItem>(line));
    }

    [Fact]
    public void Every_system_item_kind_has_a_round_trip_sample()
    {
        var sampled = EveryItem.Select(row => YoiJson.Deserialize<SystemItem>(row.Data).GetType()).ToHashSet();
        var all = typeof(SystemItem).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(SystemItem)) && !t.IsAbstract);
        Assert.Empty(all.Where(t => !sampled.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void Notification_without_provenance_omits_prompt_provenance()
    {
        Assert.Equal("""{"kind":"notification","message":"m","body":"b"}""", YoiJson.Serialize<SystemItem>(new NotificationSystemItem("m", "b")));
    }

    [Fact]
    public void Prompt_provenance_without_workspace_omits_workspace_id()
    {
        Assert.Equal("""{"config_revision":1,"source_digest":"s","projection_digest":"p","logical_name":"n"}""",
            YoiJson.Serialize(new PromptProvenance(null, 1, "s", "p", "n")));
    }

    [Fact]
    public void Legacy_knowledge_replays_as_empty_and_workflow_as_ignored_notice()
    {
        Assert.Equal("", new KnowledgeSystemItem("k", "body").ReplayText());
        Assert.Equal("Ignored legacy procedure item: /deploy", new WorkflowSystemItem("deploy").ReplayText());
    }

    [Fact]
    public void Body_carrying_items_replay_their_body()
    {
        Assert.Equal("[File: a]\nx", new FileAttachmentSystemItem("a", "[File: a]\nx").ReplayText());
        Assert.Equal(InterruptSystemItem.DefaultBody, new InterruptSystemItem(InterruptSystemItem.DefaultBody).ReplayText());
    }
}
