using System.Text;
using Yoi.Messages;

namespace Yoi.Actors.Engine;

/// <summary>The block model of one LLM call (reference-engine §1.4, the "Timeline"), with the C# fixes:
/// a <see cref="BlockStop"/> closes the open block with the same index whatever its <c>block_type</c>, and
/// <see cref="CompleteOpenBlocks"/> completes every still-open block at a *complete* stream end (spec README item 8:
/// the engine calls it only for a stream that ended with its terminal signal; a cut stream aborts its open blocks).
/// Publishes the streaming protocol events as it goes. Not thread-safe (one stream, one task).</summary>
internal sealed class StreamAssembler(Action<Event> publish)
{
    private sealed class OpenBlock(int index, BlockType kind, long seq, string? toolId, string? toolName)
    {
        public int Index { get; } = index;
        public BlockType Kind { get; } = kind;
        public long Seq { get; } = seq;
        public string? ToolId { get; } = toolId;
        public string? ToolName { get; } = toolName;
        public StringBuilder Buffer { get; } = new();
    }

    private readonly Dictionary<int, OpenBlock> _open = new();
    private readonly List<ReasoningItem> _reasoning = [];
    private readonly List<string> _texts = [];
    private readonly List<ToolCallItem> _toolCalls = [];
    private long _seq;
    private ulong? _in, _out, _total, _cacheRead, _cacheCreation;

    /// <summary>Completed reasoning blocks (only thinking blocks whose stop carried round-trip data), in order.</summary>
    public IReadOnlyList<ReasoningItem> Reasoning => _reasoning;

    /// <summary>Completed non-empty text blocks, in order.</summary>
    public IReadOnlyList<string> Texts => _texts;

    /// <summary>Completed tool calls (arguments canonical, or verbatim when not a JSON object), in order.</summary>
    public IReadOnlyList<ToolCallItem> ToolCalls => _toolCalls;

    /// <summary>The usage of this call merged field by field (latest non-null wins); null if none arrived.</summary>
    public StreamUsage? Usage { get; private set; }

    /// <summary>The scheme's terminal signal, when it arrived (spec README item 8).</summary>
    public StreamComplete? Completion { get; private set; }

    /// <summary>Why the model stopped: the terminal signal's reason, else the last reason a block stop carried.</summary>
    public StopReason? StopReason => Completion?.StopReason ?? _blockStopReason;

    /// <summary>The provider's own word for <see cref="StopReason"/> when it said one (e.g. <c>length</c>).</summary>
    public string? ProviderStopReason => Completion?.ProviderStopReason;

    private StopReason? _blockStopReason;

    /// <summary>Deviation (spec README item 10): the stop reason kept on the committed item — only the notable ones, so
    /// an ordinary end (end_turn / tool_use / none) writes nothing and old journals read the same.</summary>
    public static string? Notable(StopReason? reason) => reason switch
    {
        Engine.StopReason.MaxTokens => "max_tokens",
        Engine.StopReason.ContentFilter => "content_filter",
        Engine.StopReason.Refusal => "refusal",
        Engine.StopReason.StopSequence => "stop_sequence",
        _ => null,
    };

    /// <summary>Assistant output in the fixed commit order (§1.3 step 12): reasoning, one concatenated assistant
    /// message (omitted if empty), then tool calls (only when <paramref name="includeToolCalls"/>).</summary>
    public IReadOnlyList<HistoryItem> AssistantItems(bool includeToolCalls)
    {
        var items = new List<HistoryItem>(_reasoning);
        var text = string.Concat(_texts);
        if (text.Length > 0) items.Add(MessageItem.Text(Role.Assistant, text));
        if (includeToolCalls) items.AddRange(_toolCalls);
        // the stop reason goes on the last item of the response (the message, or the last call when it ends in calls)
        if (includeToolCalls && Notable(StopReason) is { } reason && items.Count > 0 && items[^1] is AssistantSideItem last)
            items[^1] = last with { StopReason = reason };
        return items;
    }

    public void Handle(StreamEvent e)
    {
        switch (e)
        {
            case StreamUsage u:
                _in = u.InputTokens ?? _in;
                _out = u.OutputTokens ?? _out;
                _total = u.TotalTokens ?? _total;
                _cacheRead = u.CacheReadInputTokens ?? _cacheRead;
                _cacheCreation = u.CacheCreationInputTokens ?? _cacheCreation;
                Usage = new StreamUsage(_in, _out, _total, _cacheRead, _cacheCreation);
                break;
            case BlockStart s when s.Type != BlockType.ToolResult:
                if (_open.TryGetValue(s.Index, out var previous)) Complete(previous, null);
                Open(s.Index, s.Type, s.ToolId, s.ToolName);
                break;
            case BlockDelta d:
                Delta(d);
                break;
            case BlockStop s:
                if (s.StopReason is { } r) _blockStopReason = r;
                if (Find(s.Index, s.Type) is { } stopped) Complete(stopped, s.Reasoning);
                break;
            case StreamComplete c:
                Completion = c;
                break;
            case BlockAbort a:
                if (Find(a.Index, a.Type) is { } aborted) _open.Remove(aborted.Index);
                break;
            // Ping, Status, UnhandledSse: informational. StreamError: handled by the engine.
        }
    }

    /// <summary>Normal stream end: every still-open block is completed (text and tool-use blocks are kept;
    /// a thinking block without round-trip data stays display-only).</summary>
    public void CompleteOpenBlocks()
    {
        foreach (var block in _open.Values.OrderBy(b => b.Seq).ToList()) Complete(block, null);
    }

    /// <summary>Stream break / error / cancel: open blocks are dropped without completing.</summary>
    public void AbortOpenBlocks() => _open.Clear();

    private void Delta(BlockDelta d)
    {
        var kind = d.Kind switch
        {
            DeltaKind.Text => BlockType.Text,
            DeltaKind.Thinking => BlockType.Thinking,
            _ => BlockType.ToolUse,
        };
        if (!_open.TryGetValue(d.Index, out var block) || block.Kind != kind)
        {
            // A delta with no open block of its kind implicitly opens one (providers that never send starts).
            if (block is not null) Complete(block, null);
            block = Open(d.Index, kind, null, null);
        }
        block.Buffer.Append(d.Text);
        if (d.Text.Length == 0) return;
        switch (kind)
        {
            case BlockType.Text: publish(new TextDeltaEvent(d.Text)); break;
            case BlockType.Thinking: publish(new ThinkingDeltaEvent(d.Text)); break;
            default: publish(new ToolCallArgsDeltaEvent(block.ToolId ?? "", d.Text)); break;
        }
    }

    private OpenBlock Open(int index, BlockType kind, string? toolId, string? toolName)
    {
        var block = new OpenBlock(index, kind, _seq++, toolId, toolName);
        _open[index] = block;
        switch (kind)
        {
            case BlockType.Thinking: publish(new ThinkingStartEvent()); break;
            case BlockType.ToolUse when toolName is not null: publish(new ToolCallStartEvent(toolId ?? "", toolName)); break;
        }
        return block;
    }

    /// <summary>The block a stop/abort refers to: the open block with that index (any type), else the most
    /// recently opened block of the named type.</summary>
    private OpenBlock? Find(int index, BlockType type)
    {
        if (_open.TryGetValue(index, out var block)) return block;
        return _open.Values.Where(b => b.Kind == type).OrderByDescending(b => b.Seq).FirstOrDefault();
    }

    private void Complete(OpenBlock block, ReasoningData? reasoning)
    {
        _open.Remove(block.Index);
        var buffered = block.Buffer.ToString();
        switch (block.Kind)
        {
            case BlockType.Text:
                if (buffered.Length == 0) return;
                _texts.Add(buffered);
                publish(new TextDoneEvent(buffered));
                break;
            case BlockType.Thinking:
                var text = reasoning?.Text ?? buffered;
                publish(new ThinkingDoneEvent(text));
                if (reasoning is not null)
                    _reasoning.Add(new ReasoningItem(text,
                        reasoning.Summary is { Count: > 0 } summary ? summary : null,
                        reasoning.EncryptedContent, reasoning.Signature));
                break;
            case BlockType.ToolUse:
                if (block.ToolName is null) return; // never started: no name to execute
                var id = block.ToolId ?? $"call_{block.Seq}";
                // Deviation (spec README item 9): arguments as sent; invalid ones are kept verbatim (never {}), and
                // the engine answers such a call with an error result naming the parse error instead of running it.
                var args = ToolArguments.AsSent(buffered);
                _toolCalls.Add(new ToolCallItem(id, block.ToolName, args));
                publish(new ToolCallDoneEvent(id, block.ToolName, args));
                break;
        }
    }
}
