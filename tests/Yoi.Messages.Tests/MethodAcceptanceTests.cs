using System.Text.Json;
using Xunit;

namespace Yoi.Messages.Tests;

/// <summary>reference-protocol §10, behaviours 1–5 (codec level).</summary>
public class MethodAcceptanceTests
{
    [Fact]
    public void Run_with_text_input_reencodes_byte_identical()
    {
        const string line = """{"method":"run","params":{"input":[{"kind":"text","content":"Hello"}]}}""";
        Assert.Equal(line, Wire.ReencodeMethod(line));
    }

    [Fact]
    public void Notify_without_auto_run_decodes_as_true_and_reencodes_without_it()
    {
        const string line = """{"method":"notify","params":{"message":"turn done"}}""";
        var m = Assert.IsType<NotifyMethod>(Method.Decode(line));
        Assert.True(m.AutoRun);
        Assert.Equal("turn done", m.Message);
        Assert.Equal(line, m.Encode());
        Assert.DoesNotContain("auto_run", m.Encode());
    }

    [Fact]
    public void Notify_with_auto_run_false_reencodes_auto_run_false()
    {
        const string line = """{"method":"notify","params":{"message":"turn done","auto_run":false}}""";
        var m = Assert.IsType<NotifyMethod>(Method.Decode(line));
        Assert.False(m.AutoRun);
        Assert.Contains("\"auto_run\":false", m.Encode());
        Assert.Equal(line, m.Encode());
    }

    [Fact]
    public void Notify_with_auto_run_true_explicit_is_omitted_on_encoding()
    {
        Assert.Equal("""{"method":"notify","params":{"message":"x"}}""", new NotifyMethod("x", AutoRun: true).Encode());
    }

    [Fact]
    public void Pause_compact_resume_encode_without_params()
    {
        Assert.Equal("""{"method":"pause"}""", new PauseMethod().Encode());
        Assert.Equal("""{"method":"compact"}""", new CompactMethod().Encode());
        Assert.Equal("""{"method":"resume"}""", new ResumeMethod().Encode());
    }

    [Fact]
    public void Run_with_unknown_segment_kind_decodes_as_unknown_and_reencodes_as_kind_unknown()
    {
        const string line = """{"method":"run","params":{"input":[{"kind":"future_thing","x":1}]}}""";
        var m = Assert.IsType<RunMethod>(Method.Decode(line));
        Assert.IsType<UnknownSegment>(Assert.Single(m.Input));
        Assert.Equal("""{"method":"run","params":{"input":[{"kind":"unknown"}]}}""", m.Encode());
    }

    [Fact]
    public void Run_tracked_line_is_an_invalid_method()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"method":"run_tracked","input":[],"submission_id":"forged"}"""));
        Assert.Contains("run_tracked", e.Message);
    }

    [Fact]
    public void Run_tracked_with_params_is_an_invalid_method()
    {
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"run_tracked","params":{"input":[],"submission_id":"forged"}}"""));
    }

    [Fact]
    public void Run_tracked_cannot_be_encoded()
    {
        Assert.Throws<JsonException>(() => new RunTrackedMethod([new TextSegment("x")], "sub-1").Encode());
    }
}
