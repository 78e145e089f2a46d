using Xunit;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

/// <summary>The logged item form of reference-engine §4.3 (tag `kind`, no id/status).</summary>
public class HistoryItemTests
{
    [Fact]
    public void Assistant_text_message_has_the_logged_form()
    {
        Assert.Equal("""{"kind":"message","role":"assistant","content":[{"kind":"text","text":"Hi"}]}""",
            YoiJson.Serialize<HistoryItem>(MessageItem.Text(Role.Assistant, "Hi")));
    }

    [Fact]
    public void Tool_call_has_the_logged_form()
    {
        Assert.Equal("""{"kind":"tool_call","call_id":"c1","name":"Read","arguments":"{\"file_path\":\"/a\"}"}""",
            YoiJson.Serialize<HistoryItem>(new ToolCallItem("c1", "Read", """{"file_path":"/a"}""")));
    }

    [Fact]
    public void Full_tool_result_has_the_logged_form()
    {
        Assert.Equal(
            """{"kind":"tool_result","call_id":"c1","summary":"…","content":"…","attachments":[{"kind":"image","mime_type":"image/png","data":"<base64>"}],"is_error":true}""",
            YoiJson.Serialize<HistoryItem>(new ToolResultItem("c1", "…", "…", [new ImageAttachment("image/png", "<base64>")], true)));
    }

    [Fact]
    public void Tool_result_omits_absent_content_empty_attachments_and_false_is_error()
    {
        Assert.Equal("""{"kind":"tool_result","call_id":"c1","summary":"ok"}""",
            YoiJson.Serialize<HistoryItem>(new ToolResultItem("c1", "ok", null, [], false)));
    }

    [Fact]
    public void Reasoning_has_the_logged_form()
    {
        Assert.Equal("""{"kind":"reasoning","text":"…","summary":["…"],"encrypted_content":"…","signature":"…"}""",
            YoiJson.Serialize<HistoryItem>(new ReasoningItem("…", ["…"], "…", "…")));
    }

    [Fact]
    public void Reasoning_omits_empty_summary_and_absent_optionals()
    {
        Assert.Equal("""{"kind":"reasoning","text":"t"}""", YoiJson.Serialize<HistoryItem>(new ReasoningItem("t", [])));
    }

    [Theory]
    [InlineData("""{"kind":"message","role":"assistant","content":[{"kind":"text","text":"Hi"}]}""")]
    [InlineData("""{"kind":"message","role":"assistant","content":[{"kind":"refusal","refusal":"no"}]}""")]
    [InlineData("""{"kind":"message","role":"system","content":[{"kind":"text","text":"[Notification]"}]}""")]
    [InlineData("""{"kind":"tool_call","call_id":"c1","name":"Read","arguments":"{\"file_path\":\"/a\"}"}""")]
    [InlineData("""{"kind":"tool_result","call_id":"c1","summary":"…","content":"…","attachments":[{"kind":"image","mime_type":"image/png","data":"<base64>"}],"is_error":true}""")]
    [InlineData("""{"kind":"reasoning","text":"…","summary":["…"],"encrypted_content":"…","signature":"…"}""")]
    public void Logged_item_round_trips_byte_identical(string json)
    {
        Assert.Equal(json, Wire.Reencode<HistoryItem>(json));
    }

    [Fact]
    public void Tool_result_without_optional_fields_decodes_with_defaults()
    {
        var r = Assert.IsType<ToolResultItem>(YoiJson.Deserialize<HistoryItem>("""{"kind":"tool_result","call_id":"c1","summary":"ok"}"""));
        Assert.Null(r.Content);
        Assert.Null(r.Attachments);
        Assert.False(r.IsError);
        Assert.Equal("ok", r.ModelText);
    }

    [Fact]
    public void Message_plain_text_concatenates_text_parts()
    {
        var m = new MessageItem(Role.Assistant, [new TextPart("a"), new RefusalPart("r"), new TextPart("b")]);
        Assert.Equal("ab", m.PlainText);
    }
}
