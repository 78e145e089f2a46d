using System.Text.Json.Serialization;

namespace Yoi.Messages;

/// <summary>One element of user input (`run.input`, `user_input.segments`). Internally tagged by `kind`;
/// an unknown kind decodes as <see cref="UnknownSegment"/> (see Json/SegmentConverter).</summary>
[JsonConverter(typeof(Json.SegmentConverter))]
public abstract record Segment
{
    /// <summary>The text this segment contributes to the flattened user message.</summary>
    public abstract string Flatten();

    /// <summary>Concatenates the flattened pieces with no separator (reference-protocol §1).</summary>
    public static string FlattenAll(IEnumerable<Segment> segments) => string.Concat(segments.Select(s => s.Flatten()));
}

public sealed record TextSegment(string Content) : Segment
{
    public override string Flatten() => Content;
}

/// <summary>A pasted chunk; only its content reaches the model, never a chip label.</summary>
public sealed record PasteSegment(uint Id, uint Chars, uint Lines, string Content) : Segment
{
    public override string Flatten() => Content;
}

public sealed record FileRefSegment(string Path) : Segment
{
    public override string Flatten() => "@" + Path;
}

public sealed record FlowSegment(string Selector) : Segment
{
    public override string Flatten() => $"[Flow: {Selector}]";
}

/// <summary>A segment kind this version does not know; re-encodes as {"kind":"unknown"}.</summary>
public sealed record UnknownSegment : Segment
{
    public override string Flatten() => "";
}
