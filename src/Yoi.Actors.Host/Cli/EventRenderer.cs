using Spectre.Console;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>Renders a Worker's event stream and its snapshot history for humans (Spectre.Console): text raw as it
/// arrives; thinking dimmed; tool calls `→ Name(args)` and results `← summary`; retries, continuations, usage,
/// alerts and compaction as dimmed or coloured notes. Text, tool calls and results go to <c>out</c>; thinking and
/// notes to <c>notes</c> (stderr for `yoi run`, so stdout is the answer alone).</summary>
public sealed class EventRenderer(IAnsiConsole @out, IAnsiConsole notes, TextWriter rawOut, TextWriter rawNotes, bool conversation)
{
    private bool _midLine;        // out has an unterminated text line
    private bool _notesMidLine;   // notes has an unterminated thinking line
    private bool SameStream => ReferenceEquals(rawOut, rawNotes);

    public static EventRenderer ForRun() => new(Output.Out, Output.Err, Console.Out, Console.Error, conversation: false);

    public static EventRenderer ForConsole() => new(Output.Out, Output.Out, Console.Out, Console.Out, conversation: true);

    public void EndLine()
    {
        if (_midLine) { rawOut.WriteLine(); _midLine = false; }
        if (_notesMidLine) { rawNotes.WriteLine(); _notesMidLine = false; }
        rawOut.Flush();
        rawNotes.Flush();
    }

    private void Note(string markup)
    {
        EndLine();
        notes.MarkupLine(markup);
    }

    /// <summary>A note `[text]` in <paramref name="style"/> (text is escaped).</summary>
    private void Bracketed(string style, string text) => Note($"[{style}]{Markup.Escape("[" + text + "]")}[/]");

    private void Line(string markup)
    {
        EndLine();
        @out.MarkupLine(markup);
    }

    private void Styled(IAnsiConsole console, TextWriter writer, string text, string ansiStart)
    {
        writer.Write(console.Profile.Capabilities.Ansi ? ansiStart + text + "\u001b[0m" : text);
        writer.Flush();
    }

    public void Render(Event evt)
    {
        switch (evt)
        {
            case TextDeltaEvent t:
                if (_notesMidLine) { rawNotes.WriteLine(); _notesMidLine = false; }
                rawOut.Write(t.Text);
                rawOut.Flush();
                _midLine = t.Text.Length > 0 ? !t.Text.EndsWith('\n') : _midLine;
                break;
            case TextDoneEvent:
                if (_midLine) { rawOut.WriteLine(); _midLine = false; }
                break;
            case ThinkingStartEvent:
                EndLine();
                break;
            case ThinkingDeltaEvent th:
                if (SameStream && _midLine) { rawOut.WriteLine(); _midLine = false; }
                Styled(notes, rawNotes, th.Text, "\u001b[2m");
                _notesMidLine = th.Text.Length > 0 ? !th.Text.EndsWith('\n') : _notesMidLine;
                break;
            case ThinkingDoneEvent:
                if (_notesMidLine) { rawNotes.WriteLine(); _notesMidLine = false; }
                break;
            case ToolCallDoneEvent tc:
                Line($"[cyan]→ {Markup.Escape(tc.Name)}[/]({Markup.Escape(Output.Shorten(tc.Arguments, 200))})");
                break;
            case ToolResultEvent tr:
                Line(tr.IsError
                    ? $"[red]← error: {Markup.Escape(Output.Shorten(tr.Summary, 300))}[/]"
                    : $"[green]←[/] {Markup.Escape(Output.Shorten(tr.Summary, 300))}");
                break;
            case LlmRetryEvent r:
                Bracketed("yellow", $"retry {r.FailedAttempt}/{r.MaxAttempts} in {r.WaitMs} ms{(r.Status is { } st ? $" (HTTP {st})" : "")}: {r.Error}");
                break;
            case LlmContinuationEvent c:
                Bracketed("yellow", $"stream interrupted, continuing ({c.Attempt}/{c.MaxAttempts}): {c.Reason}");
                break;
            case UsageEvent u:
                Bracketed("dim", $"usage: in {u.InputTokens?.ToString() ?? "?"}, out {u.OutputTokens?.ToString() ?? "?"}{(u.CacheReadInputTokens is { } cr ? $", cache read {cr}" : "")}");
                break;
            case AlertEvent a:
                Note($"{(a.Level == AlertLevel.Error ? "[red]" : "[yellow]")}{Markup.Escape($"[{Output.Snake(a.Level.ToString())}] {Output.Snake(a.Source.ToString())}: {a.Message}")}[/]");
                break;
            case CompactStartEvent:
                Bracketed("dim", "compacting…");
                break;
            case CompactDoneEvent cd:
                Bracketed("dim", $"compacted: new segment {cd.NewSegmentId}");
                break;
            case CompactFailedEvent cf:
                Bracketed("red", $"compaction failed: {cf.Error}");
                break;
            case ErrorEvent e:
                Note($"[red]error: {Output.Code(e.Code)}: {Markup.Escape(e.Message)}[/]");
                break;
            case StatusEvent s when conversation:
                Note($"[dim][[status:[/] {Output.StatusMarkup(Output.Snake(s.Status.ToString()))}[dim]]][/]");
                break;
            case UserMessageEvent u when conversation:
                Line($"[bold]> {Markup.Escape(Segment.FlattenAll(u.Segments))}[/]");
                break;
            case InvokeStartEvent i when conversation && i.Kind != InvokeKind.UserSend:
                Bracketed("dim", $"{Output.Snake(i.Kind.ToString())} turn");
                break;
            case SystemItemEvent si when conversation:
                Note($"[dim]{Markup.Escape("[system] " + Output.Shorten(si.Item.ReplayText(), 200))}[/]");
                break;
            case RunEndEvent re when conversation:
                Bracketed("dim", $"run ended: {Output.Snake(re.Result.ToString())}");
                break;
            case ShutdownEvent when conversation:
                Bracketed("dim", "the worker shut down");
                break;
        }
    }

    /// <summary>One committed entry of a snapshot (history), rendered like the live stream.</summary>
    public void RenderEntry(LogEntry entry)
    {
        switch (entry)
        {
            case UserInputEntry u:
                Line($"[bold]> {Markup.Escape(Segment.FlattenAll(u.Segments))}[/]");
                break;
            case AssistantItemEntry { Item: MessageItem m }:
                EndLine();
                rawOut.WriteLine(m.PlainText);
                rawOut.Flush();
                break;
            case AssistantItemEntry { Item: ReasoningItem r } when r.Text.Length > 0:
                EndLine();
                Styled(notes, rawNotes, r.Text, "\u001b[2m");
                rawNotes.WriteLine();
                break;
            case AssistantItemEntry { Item: ToolCallItem tc }:
                Line($"[cyan]→ {Markup.Escape(tc.Name)}[/]({Markup.Escape(Output.Shorten(tc.Arguments, 200))})");
                break;
            case ToolResultEntry tr:
                Line(tr.Item.IsError
                    ? $"[red]← error: {Markup.Escape(Output.Shorten(tr.Item.Summary, 300))}[/]"
                    : $"[green]←[/] {Markup.Escape(Output.Shorten(tr.Item.Summary, 300))}");
                break;
            case SystemItemEntry s:
                Note($"[dim]{Markup.Escape("[system] " + Output.Shorten(s.Item.ReplayText(), 200))}[/]");
                break;
            case RunErroredEntry e:
                Bracketed("red", $"run errored: {e.Message}");
                break;
        }
    }

    /// <summary>Entries that show up when rendering history (the rest are bookkeeping).</summary>
    public static bool IsVisible(LogEntry e) => e is UserInputEntry or AssistantItemEntry or ToolResultEntry or SystemItemEntry or RunErroredEntry;
}
