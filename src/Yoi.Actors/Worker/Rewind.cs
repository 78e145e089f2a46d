using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Rewind targets and validation over the visible entries of the current segment (reference-engine §5).</summary>
public static class Rewind
{
    public const string SideEffectWarning = "history suffix will be discarded; tool side effects are not undone";

    public static RewindTargetsEvent ListTargets(IReadOnlyList<LogEntry> entries, Guid segmentId)
    {
        var head = entries.Count;
        var targets = new List<RewindTarget>();
        var ordinal = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i] is not UserInputEntry input) continue;
            ordinal++;
            var truncate = TruncateIndex(entries, i);
            targets.Add(new RewindTarget(
                new RewindTargetId(segmentId, i), head, truncate, ordinal, entries[i].Ts, Preview(input.Segments), true,
                Warning: DiscardsToolWork(entries, truncate) ? SideEffectWarning : null));
        }
        targets.Reverse();
        return new RewindTargetsEvent(head, targets);
    }

    /// <summary>Validates a rewind; returns the number of entries to keep, or the error message.</summary>
    public static (int Keep, UserInputEntry Input, bool Warning)? Validate(
        IReadOnlyList<LogEntry> entries, Guid segmentId, RewindToMethod request, out string? error)
    {
        error = null;
        if (request.Target.SegmentId != segmentId)
        {
            error = "rewind target belongs to a different segment";
            return null;
        }
        if (request.ExpectedHeadEntries != entries.Count)
        {
            error = $"session head changed since picker opened (expected {request.ExpectedHeadEntries}, current {entries.Count})";
            return null;
        }
        var index = request.Target.UserInputEntryIndex;
        if (index < 0 || index >= entries.Count || entries[index] is not UserInputEntry input)
        {
            error = "rewind target is no longer a user message";
            return null;
        }
        var keep = TruncateIndex(entries, index);
        return (keep, input, DiscardsToolWork(entries, keep));
    }

    private static int TruncateIndex(IReadOnlyList<LogEntry> entries, int userInputIndex) =>
        userInputIndex > 0 && entries[userInputIndex - 1] is InvokeEntry ? userInputIndex - 1 : userInputIndex;

    private static bool DiscardsToolWork(IReadOnlyList<LogEntry> entries, int from) =>
        entries.Skip(from).Any(e => e is ToolResultEntry or AssistantItemEntry { Item: ToolCallItem });

    /// <summary>Segments joined by single spaces, newlines as spaces, cut to 120 characters plus "…".</summary>
    public static string Preview(IEnumerable<Segment> segments)
    {
        var text = string.Join(" ", segments.Select(s => s switch
        {
            TextSegment t => t.Content.Trim(),
            PasteSegment p => p.Content.Trim(),
            FileRefSegment f => "@" + f.Path,
            FlowSegment fl => $"[Flow: {fl.Selector}]",
            _ => "[unknown input segment]",
        })).Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ');
        return text.Length > 120 ? text[..120] + "…" : text;
    }
}
