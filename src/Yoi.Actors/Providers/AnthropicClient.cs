using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Providers;

/// <summary>Scheme <c>anthropic</c>: the Messages API (<c>POST {base}/v1/messages</c>), also Ollama's
/// Anthropic-compatible endpoint (no key: no auth header). Request and stream mapping per reference-engine §3.3;
/// hand-written over HTTP for the reasons on <see cref="HttpModelClient"/>.</summary>
public sealed class AnthropicClient(ProviderSettings settings, HttpClient? http = null) : HttpModelClient(settings, http), IModelClient
{
    /// <summary>The Messages API requires max_tokens: the request carries the configured value or 4096.</summary>
    int? IModelClient.MaxOutputTokens(RequestConfig config) => config.MaxTokens is { } n ? (int)n : DefaultMaxTokens;

    public const int DefaultMaxTokens = 4096;

    public override string Provider => "anthropic";

    public override Uri Endpoint => ProviderSettings.Versioned(Settings.BaseUrl, "messages");

    /// <summary>Explicit prompt caching (<c>cache_control</c> breakpoints) when the model's capability says so; with no
    /// capability known, for Anthropic's own API (other hosts of the scheme, e.g. Ollama, cache automatically).</summary>
    public bool ExplicitCaching => Settings.Capability is { PromptCaching: { } caching }
        ? caching.Kind == "explicit"
        : Settings.BaseUrl.Host.EndsWith("anthropic.com", StringComparison.OrdinalIgnoreCase);

    protected override void AddHeaders(HttpRequestHeaders headers)
    {
        if (Settings.ApiKey is { } key) headers.TryAddWithoutValidation("x-api-key", key);
        headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        headers.TryAddWithoutValidation("anthropic-beta", "fine-grained-tool-streaming-2025-05-14");
    }

    public override JsonObject BuildBody(ModelRequest request)
    {
        var cfg = request.Config;
        var body = new JsonObject
        {
            ["model"] = Settings.Model,
            ["max_tokens"] = cfg.MaxTokens is { } mt ? mt : DefaultMaxTokens,
            ["stream"] = true,
        };
        if (!string.IsNullOrEmpty(request.SystemPrompt)) body["system"] = request.SystemPrompt;
        var (messages, lastPart) = BuildMessages(request.Items);
        if (ExplicitCaching) MarkCacheBreakpoints(request, messages, lastPart, Settings.Capability?.PromptCaching?.MaxBreakpoints);
        body["messages"] = messages;
        if (request.Tools.Count > 0)
            body["tools"] = new JsonArray(request.Tools.Select(t => (JsonNode)new JsonObject
            {
                ["name"] = t.Name,
                ["description"] = t.Description,
                ["input_schema"] = JsonNode.Parse(t.InputSchema.GetRawText()),
            }).ToArray());
        if (cfg.Temperature is { } temp) body["temperature"] = temp;
        if (cfg.TopP is { } topP) body["top_p"] = topP;
        if (cfg.TopK is { } topK) body["top_k"] = topK;
        if (cfg.StopSequences.Count > 0) body["stop_sequences"] = new JsonArray(cfg.StopSequences.Select(s => (JsonNode)s!).ToArray());
        if (cfg.Reasoning is { ValueKind: JsonValueKind.Number } r && r.TryGetInt64(out var budget) && budget > 0
            && Settings.Capability is null or { SupportsBudget: true })
            body["thinking"] = new JsonObject { ["type"] = "enabled", ["budget_tokens"] = budget };
        return body;
    }

    /// <summary>History → messages. Consecutive assistant-side items (reasoning, text, tool calls) merge into one
    /// assistant message; consecutive tool results become <c>tool_result</c> parts of one user message; user and
    /// system messages become user messages. Also returns, per history index, the last part it produced.</summary>
    internal static (JsonArray Messages, Dictionary<int, JsonObject> LastPart) BuildMessages(IReadOnlyList<HistoryItem> items)
    {
        var messages = new JsonArray();
        var lastPart = new Dictionary<int, JsonObject>();
        JsonArray? open = null; // content of the message being merged into
        string? openRole = null; // "assistant" or "tool_results"

        JsonArray Target(string kind, string role)
        {
            if (open is not null && openRole == kind) return open;
            open = new JsonArray();
            openRole = kind;
            messages.Add(new JsonObject { ["role"] = role, ["content"] = open });
            return open;
        }

        void Add(int index, JsonArray target, JsonObject part)
        {
            target.Add(part);
            lastPart[index] = part;
        }

        for (var i = 0; i < items.Count; i++)
        {
            switch (items[i])
            {
                case MessageItem { Role: Role.Assistant } m:
                    var text = MessageText(m);
                    if (text.Length > 0) Add(i, Target("assistant", "assistant"), new JsonObject { ["type"] = "text", ["text"] = text });
                    break;
                case MessageItem m:
                    var userText = MessageText(m);
                    if (userText.Length == 0) break;
                    open = null;
                    Add(i, Target("user", "user"), new JsonObject { ["type"] = "text", ["text"] = userText });
                    open = null; // each user/system message is its own user message
                    break;
                case ReasoningItem r when r.Signature is not null:
                    Add(i, Target("assistant", "assistant"), new JsonObject { ["type"] = "thinking", ["thinking"] = r.Text, ["signature"] = r.Signature });
                    break;
                case ReasoningItem r when r.EncryptedContent is not null:
                    Add(i, Target("assistant", "assistant"), new JsonObject { ["type"] = "redacted_thinking", ["data"] = r.EncryptedContent });
                    break;
                case ReasoningItem:
                    break; // no provider material: dropped
                case ToolCallItem c:
                    Add(i, Target("assistant", "assistant"), new JsonObject
                    {
                        ["type"] = "tool_use",
                        ["id"] = c.CallId,
                        ["name"] = c.Name,
                        ["input"] = JsonNode.Parse(ToolArguments.NormalizeToString(c.Arguments)),
                    });
                    break;
                case ToolResultItem r:
                    var part = new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = r.CallId, ["content"] = r.ModelText };
                    if (r.IsError) part["is_error"] = true;
                    Add(i, Target("tool_results", "user"), part);
                    break;
            }
        }
        return (messages, lastPart);
    }

    private static string MessageText(MessageItem m) => string.Concat(m.Content.Select(p => p switch
    {
        TextPart t => t.Text,
        RefusalPart r => r.Refusal,
        _ => "",
    }));

    /// <summary><c>cache_control: ephemeral</c> on the last part of: the cache-anchor item, the item just before the
    /// last user message, and the final item (deduplicated).</summary>
    /// <para>At most <paramref name="maxBreakpoints"/> (the capability's), keeping the final item first, then the one
    /// before the last user message, then the anchor.</para>
    private static void MarkCacheBreakpoints(ModelRequest request, JsonArray messages, Dictionary<int, JsonObject> lastPart, int? maxBreakpoints = null)
    {
        var items = request.Items;
        var ordered = new List<int>();
        if (items.Count > 0) ordered.Add(items.Count - 1);
        for (var i = items.Count - 1; i >= 0; i--)
        {
            if (items[i] is MessageItem { Role: Role.User })
            {
                if (i > 0) ordered.Add(i - 1);
                break;
            }
        }
        if (request.CacheAnchor is { } anchor && anchor >= 0 && anchor < items.Count) ordered.Add(anchor);
        var targets = new SortedSet<int>(ordered.Distinct().Take(maxBreakpoints ?? int.MaxValue));
        foreach (var t in targets)
        {
            // an item that produced no part (e.g. dropped reasoning) marks the nearest earlier part
            for (var i = t; i >= 0; i--)
            {
                if (!lastPart.TryGetValue(i, out var part)) continue;
                part["cache_control"] = new JsonObject { ["type"] = "ephemeral" };
                break;
            }
        }
    }

    protected override IStreamMapper NewMapper() => new Mapper();

    /// <summary>Anthropic SSE → normalised events (§3.3 stream mapping).</summary>
    internal sealed class Mapper : IStreamMapper
    {
        private sealed class Block(BlockType type)
        {
            public BlockType Type { get; } = type;
            public StringBuilder Thinking { get; } = new();
            public StringBuilder Signature { get; } = new();
            public string? RedactedData { get; set; }
        }

        private readonly Dictionary<int, Block> _blocks = new();
        private string? _stopReason;

        public string TerminalSignal => "message_stop";

        public IEnumerable<StreamEvent> Map(string? eventName, string data)
        {
            var json = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("frame is not a JSON object");
            var type = (string?)json["type"] ?? eventName;
            switch (type)
            {
                case "message_start":
                    yield return new Telemetry.StreamResponse((string?)json["message"]?["id"], (string?)json["message"]?["model"]);
                    var usage = Usage(json["message"]?["usage"] as JsonObject);
                    yield return usage ?? (StreamEvent)new StreamStatus(StreamStatusKind.Started);
                    break;
                case "content_block_start":
                {
                    var index = (int?)json["index"] ?? 0;
                    var cb = json["content_block"] as JsonObject;
                    switch ((string?)cb?["type"])
                    {
                        case "text":
                            _blocks[index] = new Block(BlockType.Text);
                            yield return new BlockStart(index, BlockType.Text);
                            if ((string?)cb!["text"] is { Length: > 0 } initial) yield return new BlockDelta(index, DeltaKind.Text, initial);
                            break;
                        case "thinking":
                        {
                            var block = _blocks[index] = new Block(BlockType.Thinking);
                            yield return new BlockStart(index, BlockType.Thinking);
                            if ((string?)cb!["thinking"] is { Length: > 0 } t)
                            {
                                block.Thinking.Append(t);
                                yield return new BlockDelta(index, DeltaKind.Thinking, t);
                            }
                            if ((string?)cb["signature"] is { Length: > 0 } s) block.Signature.Append(s);
                            break;
                        }
                        case "redacted_thinking":
                            _blocks[index] = new Block(BlockType.Thinking) { RedactedData = (string?)cb!["data"] };
                            yield return new BlockStart(index, BlockType.Thinking);
                            break;
                        case "tool_use":
                            _blocks[index] = new Block(BlockType.ToolUse);
                            yield return new BlockStart(index, BlockType.ToolUse, (string?)cb!["id"], (string?)cb["name"]);
                            break;
                        // server tools, citations…: not part of our block model
                    }
                    break;
                }
                case "content_block_delta":
                {
                    var index = (int?)json["index"] ?? 0;
                    var delta = json["delta"] as JsonObject;
                    switch ((string?)delta?["type"])
                    {
                        case "text_delta":
                            yield return new BlockDelta(index, DeltaKind.Text, (string?)delta!["text"] ?? "");
                            break;
                        case "thinking_delta":
                            var t = (string?)delta!["thinking"] ?? "";
                            if (_blocks.TryGetValue(index, out var tb)) tb.Thinking.Append(t);
                            yield return new BlockDelta(index, DeltaKind.Thinking, t);
                            break;
                        case "input_json_delta":
                            yield return new BlockDelta(index, DeltaKind.InputJson, (string?)delta!["partial_json"] ?? "");
                            break;
                        case "signature_delta":
                            if (_blocks.TryGetValue(index, out var sb)) sb.Signature.Append((string?)delta!["signature"]);
                            break; // accumulated silently
                    }
                    break;
                }
                case "content_block_stop":
                {
                    var index = (int?)json["index"] ?? 0;
                    if (!_blocks.Remove(index, out var block)) break; // a block type we did not start
                    if (block.Type == BlockType.Thinking)
                        yield return new BlockStop(index, BlockType.Thinking, Reasoning: new ReasoningData(
                            Text: block.Thinking.ToString(),
                            EncryptedContent: block.RedactedData,
                            Signature: block.Signature.Length > 0 ? block.Signature.ToString() : null));
                    else
                        yield return new BlockStop(index, block.Type);
                    break;
                }
                case "message_delta":
                    // Deviation (spec README item 10): the stop_reason is kept (the reference drops it) and surfaced
                    // with the terminal message_stop.
                    _stopReason = (string?)json["delta"]?["stop_reason"] ?? _stopReason;
                    if (Usage(json["usage"] as JsonObject) is { } u) yield return u;
                    break;
                case "message_stop":
                    yield return new StreamStatus(StreamStatusKind.Completed);
                    // Deviation (spec README item 8): message_stop is this scheme's terminal signal.
                    yield return new StreamComplete(MapStopReason(_stopReason), _stopReason);
                    break;
                case "ping":
                    yield return new StreamPing();
                    break;
                case "error":
                    var error = json["error"] as JsonObject ?? json;
                    yield return new StreamError(Scalar(error["type"]) ?? Scalar(error["code"]),
                        Scalar(error["message"]) ?? data);
                    break;
            }
        }

        internal static StopReason? MapStopReason(string? reason) => reason switch
        {
            null => null,
            "max_tokens" or "model_context_window_exceeded" => StopReason.MaxTokens,
            "stop_sequence" => StopReason.StopSequence,
            "tool_use" => StopReason.ToolUse,
            "refusal" => StopReason.Refusal,
            _ => StopReason.EndTurn, // end_turn, pause_turn, and anything newer
        };

        /// <summary>input = input + cache_read + cache_creation (only when input is present); total = input + output.</summary>
        internal static StreamUsage? Usage(JsonObject? u)
        {
            if (u is null) return null;
            var input = (ulong?)u["input_tokens"];
            var output = (ulong?)u["output_tokens"];
            var cacheRead = (ulong?)u["cache_read_input_tokens"];
            var cacheCreation = (ulong?)u["cache_creation_input_tokens"];
            if (input is { } i) input = i + (cacheRead ?? 0) + (cacheCreation ?? 0);
            ulong? total = input is { } a && output is { } b ? a + b : null;
            if (input is null && output is null && cacheRead is null && cacheCreation is null) return null;
            return new StreamUsage(input, output, total, cacheRead, cacheCreation);
        }
    }
}
