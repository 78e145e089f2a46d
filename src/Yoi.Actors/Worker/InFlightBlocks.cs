using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Presentation-only streaming state of the current run (reference-protocol §8.2): updated from the
/// engine's events, trimmed when the matching assistant item is committed, cleared at run start and end.
/// A finished block is therefore seen exactly once by an attaching client: in flight or committed.</summary>
internal sealed class InFlightBlocks
{
    private readonly List<InFlightBlock> _blocks = [];

    public void Clear() => _blocks.Clear();

    public void Apply(Event e)
    {
        switch (e)
        {
            case TextDeltaEvent d:
                if (LastOpen<InFlightText>() is (var i, var t)) _blocks[i] = t with { Text = t.Text + d.Text };
                else _blocks.Add(new InFlightText(d.Text));
                break;
            case TextDoneEvent done:
                if (LastOpen<InFlightText>() is (var ti, var tb))
                    _blocks[ti] = tb with { Text = tb.Text.Length == 0 ? done.Text : tb.Text, Finished = true };
                else _blocks.Add(new InFlightText(done.Text, true));
                break;
            case ThinkingStartEvent:
                _blocks.Add(new InFlightThinking(""));
                break;
            case ThinkingDeltaEvent td:
                if (LastOpen<InFlightThinking>() is (var hi, var h)) _blocks[hi] = h with { Text = h.Text + td.Text };
                else _blocks.Add(new InFlightThinking(td.Text));
                break;
            case ThinkingDoneEvent thd:
                if (LastOpen<InFlightThinking>() is (var di, var db))
                    _blocks[di] = db with { Text = db.Text.Length == 0 ? thd.Text : db.Text, Finished = true };
                break;
            case ToolCallStartEvent ts:
                _blocks.Add(new InFlightToolCall(ts.Id, ts.Name, ""));
                break;
            case ToolCallArgsDeltaEvent ta:
                if (IndexOfCall(ta.Id) is { } ai && _blocks[ai] is InFlightToolCall c)
                    _blocks[ai] = c with { Args = c.Args + ta.Json, State = InFlightToolCallState.StreamingArgs };
                break;
            case ToolCallDoneEvent tdn:
                if (IndexOfCall(tdn.Id) is { } ci && _blocks[ci] is InFlightToolCall cc)
                    _blocks[ci] = cc with { Args = cc.Args.Length == 0 ? tdn.Arguments : cc.Args, State = InFlightToolCallState.Done };
                else _blocks.Add(new InFlightToolCall(tdn.Id, tdn.Name, tdn.Arguments, InFlightToolCallState.Done));
                break;
        }
    }

    /// <summary>Removes the block an assistant item was committed from, before the entry is published.</summary>
    public void Committed(HistoryItem item)
    {
        int index = item switch
        {
            MessageItem m => _blocks.FindIndex(b => b is InFlightText t && t.Text == m.PlainText),
            ToolCallItem c => IndexOfCall(c.CallId) ?? -1,
            ReasoningItem r => FindReasoning(r),
            _ => -1,
        };
        if (index >= 0) _blocks.RemoveAt(index);
    }

    /// <summary>The snapshot projection: empty text blocks and empty finished thinking blocks are omitted.</summary>
    public InFlightSnapshot? Snapshot()
    {
        var visible = _blocks.Where(b => b switch
        {
            InFlightText t => t.Text.Length > 0,
            InFlightThinking h => !(h.Finished && h.Text.Length == 0),
            _ => true,
        }).ToList();
        return visible.Count == 0 ? null : new InFlightSnapshot(visible);
    }

    private int FindReasoning(ReasoningItem r)
    {
        var i = _blocks.FindIndex(b => b is InFlightThinking h && (h.Text == r.Text || (r.Summary?.Contains(h.Text) ?? false)));
        return i >= 0 ? i : _blocks.FindIndex(b => b is InFlightThinking { Finished: true, Text.Length: 0 });
    }

    private (int, T)? LastOpen<T>() where T : InFlightBlock
    {
        for (var i = _blocks.Count - 1; i >= 0; i--)
        {
            if (_blocks[i] is T t && !IsFinished(t)) return (i, t);
            if (_blocks[i] is T) return null;
        }
        return null;
    }

    private static bool IsFinished(InFlightBlock b) => b switch
    {
        InFlightText t => t.Finished,
        InFlightThinking h => h.Finished,
        _ => true,
    };

    private int? IndexOfCall(string id)
    {
        var i = _blocks.FindIndex(b => b is InFlightToolCall c && c.Id == id);
        return i >= 0 ? i : null;
    }
}
