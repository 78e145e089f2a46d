using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Providers;

/// <summary>Scheme <c>openai_responses</c>: the Responses API (<c>POST {base}/responses</c>, default base
/// <c>https://api.openai.com/v1</c>), stateless (<c>store:false</c>) with reasoning round-tripped through
/// <c>encrypted_content</c>. Mapping per reference-engine §3.3; hand-written for the reasons on
/// <see cref="HttpModelClient"/>.</summary>
public sealed class OpenAIResponsesClient(ProviderSettings settings, HttpClient? http = null) : HttpModelClient(settings, http)
{
    public override string Provider => "openai_responses";

    public override Uri Endpoint => ProviderSettings.Join(Settings.BaseUrl, "responses");

    protected override void AddHeaders(HttpRequestHeaders headers)
    {
        if (Settings.ApiKey is { } key) headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
    }

    public override JsonObject BuildBody(ModelRequest request)
    {
        var cfg = request.Config;
        var body = new JsonObject { ["model"] = Settings.Model };
        if (!string.IsNullOrEmpty(request.SystemPrompt)) body["instructions"] = request.SystemPrompt;
        body["input"] = BuildInput(request.Items);
        body["tools"] = new JsonArray(request.Tools.Select(t => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["name"] = t.Name,
            ["description"] = t.Description,
            ["parameters"] = OpenAIChatClient.ObjectSchema(t.InputSchema),
            ["strict"] = false,
        }).ToArray());
        body["tool_choice"] = "auto";
        body["parallel_tool_calls"] = Settings.Capability is not { ToolCalling: "sequential" };
        body["store"] = false;
        body["include"] = new JsonArray("reasoning.encrypted_content");
        body["stream"] = true;
        if (cfg.MaxTokens is { } mt) body["max_output_tokens"] = mt;
        if (cfg.Temperature is { } temp) body["temperature"] = temp;
        if (cfg.TopP is { } topP) body["top_p"] = topP;
        if (cfg.Reasoning is { ValueKind: JsonValueKind.String } effort && Settings.Capability is null or { SupportsEffort: true })
            body["reasoning"] = new JsonObject { ["effort"] = effort.GetString(), ["summary"] = "auto" };
        if (request.CacheKey is { Length: > 0 } cacheKey) body["prompt_cache_key"] = cacheKey;
        return body;
    }

    /// <summary>History → <c>input[]</c>: messages (user <c>input_text</c>, assistant <c>output_text</c>, system as role
    /// <c>developer</c>), <c>function_call</c>, <c>function_call_output</c>, <c>reasoning</c> (summary always present;
    /// <c>reasoning_text</c> content only when there is no summary; <c>encrypted_content</c> when present).</summary>
    internal static JsonArray BuildInput(IReadOnlyList<HistoryItem> items)
    {
        var input = new JsonArray();
        foreach (var item in items)
        {
            switch (item)
            {
                case MessageItem m:
                    var assistant = m.Role == Role.Assistant;
                    var text = string.Concat(m.Content.Select(p => p switch { TextPart t => t.Text, RefusalPart r => r.Refusal, _ => "" }));
                    input.Add(new JsonObject
                    {
                        ["type"] = "message",
                        ["role"] = m.Role switch { Role.Assistant => "assistant", Role.System => "developer", _ => "user" },
                        ["content"] = new JsonArray(new JsonObject { ["type"] = assistant ? "output_text" : "input_text", ["text"] = text }),
                    });
                    break;
                case ToolCallItem c:
                    input.Add(new JsonObject
                    {
                        ["type"] = "function_call",
                        ["call_id"] = c.CallId,
                        ["name"] = c.Name,
                        ["arguments"] = ToolArguments.NormalizeToString(c.Arguments),
                    });
                    break;
                case ToolResultItem r:
                    input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = r.CallId, ["output"] = r.ModelText });
                    break;
                case ReasoningItem r:
                    var reasoning = new JsonObject
                    {
                        ["type"] = "reasoning",
                        ["summary"] = new JsonArray((r.Summary ?? []).Select(s => (JsonNode)new JsonObject { ["type"] = "summary_text", ["text"] = s }).ToArray()),
                    };
                    if (r.Summary is not { Count: > 0 } && r.Text.Length > 0)
                        reasoning["content"] = new JsonArray(new JsonObject { ["type"] = "reasoning_text", ["text"] = r.Text });
                    if (r.EncryptedContent is not null) reasoning["encrypted_content"] = r.EncryptedContent;
                    input.Add(reasoning);
                    break;
            }
        }
        return input;
    }

    protected override IStreamMapper NewMapper() => new Mapper();

    /// <summary>Responses SSE → normalised events (§3.3). Blocks are keyed by <c>output_index</c>.</summary>
    internal sealed class Mapper : IStreamMapper
    {
        private sealed class Item(BlockType type)
        {
            public BlockType Type { get; } = type;
            public bool Started { get; set; }
            public bool SawArgs { get; set; }
            public bool SawText { get; set; }
            public StringBuilder Text { get; } = new();
            public SortedDictionary<int, StringBuilder> Summary { get; } = new();
        }

        private readonly Dictionary<int, Item> _items = new();

        public string TerminalSignal => "response.completed, response.incomplete or response.failed";

        public IEnumerable<StreamEvent> Map(string? eventName, string data)
        {
            var json = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("frame is not a JSON object");
            var type = (string?)json["type"] ?? eventName;
            var index = (int?)json["output_index"] ?? 0;
            switch (type)
            {
                case "response.created":
                    yield return new Telemetry.StreamResponse((string?)json["response"]?["id"], (string?)json["response"]?["model"]);
                    yield return new StreamStatus(StreamStatusKind.Started);
                    break;
                case "response.output_item.added":
                {
                    var item = json["item"] as JsonObject;
                    switch ((string?)item?["type"])
                    {
                        case "function_call" or "custom_tool_call":
                            _items[index] = new Item(BlockType.ToolUse) { Started = true };
                            yield return new BlockStart(index, BlockType.ToolUse, (string?)item!["call_id"], (string?)item["name"]);
                            break;
                        case "reasoning":
                            _items[index] = new Item(BlockType.Thinking) { Started = true };
                            yield return new BlockStart(index, BlockType.Thinking);
                            break;
                        case "message":
                            _items[index] = new Item(BlockType.Text);
                            break;
                    }
                    break;
                }
                case "response.output_text.delta" or "response.refusal.delta":
                    // Deviation (spec README item 10): refusal deltas are assistant text like output text.
                    Get(index, BlockType.Text).SawText = true;
                    yield return new BlockDelta(index, DeltaKind.Text, (string?)json["delta"] ?? "");
                    break;
                case "response.reasoning_text.delta":
                {
                    var d = (string?)json["delta"] ?? "";
                    Get(index, BlockType.Thinking).Text.Append(d);
                    yield return new BlockDelta(index, DeltaKind.Thinking, d);
                    break;
                }
                case "response.reasoning_summary_text.delta":
                {
                    var d = (string?)json["delta"] ?? "";
                    var summaries = Get(index, BlockType.Thinking).Summary;
                    var si = (int?)json["summary_index"] ?? 0;
                    if (!summaries.TryGetValue(si, out var sb)) summaries[si] = sb = new StringBuilder();
                    sb.Append(d);
                    yield return new BlockDelta(index, DeltaKind.Thinking, d);
                    break;
                }
                case "response.function_call_arguments.delta" or "response.custom_tool_call_input.delta":
                    Get(index, BlockType.ToolUse).SawArgs = true;
                    yield return new BlockDelta(index, DeltaKind.InputJson, (string?)json["delta"] ?? "");
                    break;
                case "response.output_item.done":
                    foreach (var e in ItemDone(index, json["item"] as JsonObject)) yield return e;
                    break;
                case "response.completed":
                {
                    if (Usage(json["response"]?["usage"] as JsonObject) is { } usage) yield return usage;
                    yield return new StreamStatus(StreamStatusKind.Completed);
                    yield return new StreamComplete(StopReason.EndTurn); // Deviation (spec README item 8): terminal
                    break;
                }
                case "response.incomplete":
                {
                    // Deviation (spec README items 8 and 10): the reference turns this into an error (the run fails and
                    // the partial answer is lost). Here it is a complete, truncated response like Chat's `length` or
                    // Anthropic's `max_tokens`: the output is committed, the reason kept and a warn alert raised.
                    var response = json["response"] as JsonObject;
                    var reason = Scalar(response?["incomplete_details"]?["reason"]);
                    if (Usage(response?["usage"] as JsonObject) is { } usage) yield return usage;
                    yield return new StreamStatus(StreamStatusKind.Completed);
                    yield return new StreamComplete(reason switch
                    {
                        "max_output_tokens" => StopReason.MaxTokens,
                        "content_filter" => StopReason.ContentFilter,
                        _ => StopReason.EndTurn,
                    }, reason ?? "incomplete");
                    break;
                }
                case "response.failed":
                {
                    var response = json["response"] as JsonObject;
                    var error = response?["error"] as JsonObject;
                    var reason = Scalar(response?["incomplete_details"]?["reason"]);
                    var code = Scalar(error?["code"]) ?? Scalar(error?["type"]) ?? reason;
                    var message = Scalar(error?["message"]) ?? "response failed";
                    yield return new StreamError(code, message);
                    yield return new StreamStatus(StreamStatusKind.Failed);
                    break;
                }
                case "error":
                {
                    var error = json["error"] as JsonObject ?? json;
                    yield return new StreamError(Scalar(error["code"]) ?? Scalar(error["type"]), Scalar(error["message"]) ?? data);
                    break;
                }
                // content_part.added/done, output_text.done, in_progress, …: nothing to do
            }
        }

        private static StreamUsage? Usage(JsonObject? usage)
        {
            if (usage is null) return null;
            var input = (ulong?)usage["input_tokens"];
            var output = (ulong?)usage["output_tokens"];
            var total = (ulong?)usage["total_tokens"] ?? (input is { } a && output is { } b ? a + b : null);
            return new StreamUsage(input, output, total, (ulong?)usage["input_tokens_details"]?["cached_tokens"]);
        }

        private Item Get(int index, BlockType type)
        {
            if (!_items.TryGetValue(index, out var item)) _items[index] = item = new Item(type);
            return item;
        }

        private IEnumerable<StreamEvent> ItemDone(int index, JsonObject? item)
        {
            _items.Remove(index, out var state);
            switch ((string?)item?["type"])
            {
                case "message":
                    // A message whose text never came as deltas: take its final content, refusal parts included
                    // (Deviation, spec README item 10: a refusal is assistant text).
                    if (state is not { SawText: true }
                        && (item!["content"] as JsonArray)?.OfType<JsonObject>()
                            .Select(p => (string?)p["type"] == "refusal" ? (string?)p["refusal"] : (string?)p["text"])
                            .Where(t => t is { Length: > 0 }) is { } parts
                        && string.Concat(parts) is { Length: > 0 } final)
                        yield return new BlockDelta(index, DeltaKind.Text, final);
                    yield return new BlockStop(index, BlockType.Text, StopReason.EndTurn);
                    break;
                case "function_call" or "custom_tool_call":
                    if (state is not { Started: true })
                        yield return new BlockStart(index, BlockType.ToolUse, (string?)item!["call_id"], (string?)item["name"]);
                    if (state is not { SawArgs: true }
                        && ((string?)item!["arguments"] ?? (string?)item["input"]) is { Length: > 0 } args)
                        yield return new BlockDelta(index, DeltaKind.InputJson, args);
                    yield return new BlockStop(index, BlockType.ToolUse, StopReason.ToolUse);
                    break;
                case "reasoning":
                {
                    if (state is not { Started: true }) yield return new BlockStart(index, BlockType.Thinking); // metadata-only
                    var summary = (item!["summary"] as JsonArray)?.OfType<JsonObject>()
                        .Select(s => (string?)s["text"] ?? "").ToList()
                        ?? state?.Summary.Values.Select(s => s.ToString()).ToList() ?? [];
                    var content = (item["content"] as JsonArray)?.OfType<JsonObject>().Select(c => (string?)c["text"] ?? "").ToList();
                    var text = content is { Count: > 0 } ? string.Concat(content)
                        : state is { Text.Length: > 0 } ? state.Text.ToString()
                        : string.Join("\n\n", summary);
                    yield return new BlockStop(index, BlockType.Thinking, Reasoning: new ReasoningData(
                        Id: (string?)item["id"], Text: text, Summary: summary,
                        EncryptedContent: (string?)item["encrypted_content"]));
                    break;
                }
            }
        }
    }
}
