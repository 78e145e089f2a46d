using Xunit;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

public class SegmentTests
{
    [Fact]
    public void Flattening_concatenates_text_and_paste_content_without_separator_or_chip_label()
    {
        Segment[] input = [new TextSegment("see "), new PasteSegment(7, 11, 2, "line1\nline2"), new TextSegment(" thanks")];
        var flat = Segment.FlattenAll(input);
        Assert.Equal("see line1\nline2 thanks", flat);
        Assert.DoesNotContain("[Clipboard", flat);
    }

    [Fact]
    public void File_ref_flattens_as_at_path()
    {
        Assert.Equal("see @notes.md", Segment.FlattenAll([new TextSegment("see "), new FileRefSegment("notes.md")]));
    }

    [Fact]
    public void Flow_flattens_as_flow_label()
    {
        Assert.Equal("[Flow: review/main]", new FlowSegment("review/main").Flatten());
    }

    [Fact]
    public void Unknown_flattens_as_empty()
    {
        Assert.Equal("ab", Segment.FlattenAll([new TextSegment("a"), new UnknownSegment(), new TextSegment("b")]));
    }

    [Theory]
    [InlineData("""{"kind":"text","content":"Hello"}""")]
    [InlineData("""{"kind":"paste","id":7,"chars":11,"lines":2,"content":"line1\nline2"}""")]
    [InlineData("""{"kind":"file_ref","path":"README.md"}""")]
    [InlineData("""{"kind":"flow","selector":"review"}""")]
    [InlineData("""{"kind":"unknown"}""")]
    public void Segment_round_trips_byte_identical(string json)
    {
        Assert.Equal(json, Wire.Reencode<Segment>(json));
    }

    [Fact]
    public void Unknown_segment_kind_decodes_as_unknown()
    {
        Assert.IsType<UnknownSegment>(YoiJson.Deserialize<Segment>("""{"kind":"future_thing","x":1}"""));
    }
}
