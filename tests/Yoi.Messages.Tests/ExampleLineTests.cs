using Xunit;

namespace Yoi.Messages.Tests;

/// <summary>The constructed example lines of reference-protocol §7.3.</summary>
public class ExampleLineTests
{
    [Theory]
    [InlineData("""{"method":"run","params":{"input":[{"kind":"text","content":"Summarise "},{"kind":"file_ref","path":"README.md"}]}}""")]
    [InlineData("""{"method":"notify","params":{"message":"CI is green","auto_run":false}}""")]
    [InlineData("""{"method":"worker_event","params":{"kind":"errored","worker_name":"reviewer-7","message":"provider 429"}}""")]
    [InlineData("""{"method":"pause"}""")]
    [InlineData("""{"method":"rewind_to","params":{"target":{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","user_input_entry_index":4},"expected_head_entries":17}}""")]
    public void Example_method_line_reencodes_byte_identical(string line)
    {
        Assert.Equal(line, Wire.ReencodeMethod(line));
    }

    [Theory]
    [InlineData("""{"event":"status","data":{"status":"paused"}}""")]
    [InlineData("""{"event":"thinking_start"}""")]
    [InlineData("""{"event":"error","data":{"code":"not_paused","message":"Worker is not paused"}}""")]
    [InlineData("""{"event":"tool_result","data":{"id":"toolu_9","summary":"Read 42 bytes","is_error":false}}""")]
    [InlineData("""{"event":"run_end","data":{"result":"rolled_back"}}""")]
    public void Example_event_line_reencodes_byte_identical(string line)
    {
        Assert.Equal(line, Wire.ReencodeEvent(line));
    }

    /// <summary>The snapshot example with its elided parts (`…`) filled in.</summary>
    [Fact]
    public void Example_snapshot_line_with_elisions_filled_reencodes_byte_identical()
    {
        const string line =
            """{"event":"snapshot","data":{"entries":[{"kind":"segment_start","ts":1,"session_id":"0192f0e8-4d84-7d6e-a000-000000000001","system_prompt":"You are w1.","config":{"max_tokens":null,"temperature":null,"top_p":null,"top_k":null,"stop_sequences":[],"reasoning":null},"history":[]}],"greeting":{"worker_name":"w1","cwd":"/repo","provider":"anthropic","model":"m","scope_summary":"Writable:\n  - /repo","tools":["Bash","Edit","Glob","Grep","Read","Write"],"context_window":200000,"context_tokens":0},"status":"idle"}}""";
        var s = Assert.IsType<SnapshotEvent>(Event.Decode(line));
        Assert.IsType<SegmentStartEntry>(Assert.Single(s.Entries));
        Assert.Equal(200000UL, s.Greeting.ContextWindow);
        Assert.Equal(line, s.Encode());
    }
}
