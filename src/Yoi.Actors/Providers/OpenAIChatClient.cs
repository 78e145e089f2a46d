using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Providers;

/// <summary>Scheme <c>openai_chat</c>: Chat Completions (<c>POST {base}/chat/completions</c>, a <c>/v1</c> segment
/// added when the base has none) for OpenAI, OpenRouter, vLLM, Ollama and llama.cpp servers. Bearer auth when a key
/// is configured. Mapping per reference-engine §3.3; hand-written for the reasons on <see cref="HttpModelClient"/>.
/// <para>Block indices: text is block 0, tool call <c>i</c> is block <c>i + 1</c> (so a text block and the first
/// tool call never share an index), provider reasoning deltas (<c>reasoning_content</c>/<c>reasoning</c>, vLLM,
/// Ollama, OpenRouter) are a display-only thinking block -1.</para></summary>
public sealed class OpenAIChatClient(ProviderSettings settings, HttpClient? http = null) : HttpModelClient(settings, http)
{
    public const int TextIndex = 0;
    public const int ThinkingIndex = -1;

    public override string Provider => "openai_chat";

    public override Uri Endpoint => ProviderSettings.Versioned(Settings.BaseUrl, "chat/completions");

    /// <summary>api.openai.com wants <c>max_completion_tokens</c> (reasoning models reject <c>max_tokens</c>);
    /// the compatible servers (OpenRouter, vLLM, Ollama, llama.cpp) all honour the legacy <c>max_tokens</c>.</summary>
    public bool LegacyMaxTokens => !Settings.BaseUrl.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase);

    protected override void AddHeaders(HttpRequestHeaders headers)
    {
        if (Settings.ApiKey is { } key) headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
    }

    public override JsonObject BuildBody(ModelRequest request)
    {
        var cfg = request.Config;
        var body = new JsonObject { ["model"] = Settings.Model, ["messages"] = BuildMessages(request, Settings.Capability?.Vision ?? false) };
        if (request.Tools.Count > 0)
            body["tools"] = new JsonArray(request.Tools.Select(t => (JsonNode)new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = t.Name,
                    ["description"] = t.Description,
                    ["parameters"] = ObjectSchema(t.InputSchema),
                },
            }).ToArray());
        if (cfg.MaxTokens is { } mt) body[LegacyMaxTokens ? "max_tokens" : "max_completion_tokens"] = mt;
        if (cfg.Temperature is { } temp) body["temperature"] = temp;
        if (cfg.TopP is { } topP) body["top_p"] = topP;
        // top_k: not part of Chat Completions (ignored, as in the reference)
        if (cfg.StopSequences.Count > 0) body["stop"] = new JsonArray(cfg.StopSequences.Select(s => (JsonNode)s!).ToArray());
        if (cfg.Reasoning is { ValueKind: JsonValueKind.String } effort && Settings.Capability is null or { SupportsEffort: true })
            body["reasoning_effort"] = effort.GetString();
        if (request.Tools.Count > 0 && Settings.Capability is { ToolCalling: "sequential" }) body["parallel_tool_calls"] = false;
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        return body;
    }

    /// <summary>An object schema always carries <c>properties</c> (OpenAI rejects one without).</summary>
    internal static JsonNode? ObjectSchema(JsonElement schema)
    {
        var node = JsonNode.Parse(schema.GetRawText());
        if (node is JsonObject o && (string?)o["type"] == "object" && o["properties"] is null) o["properties"] = new JsonObject();
        return node;
    }

    /// <summary>System prompt first; user/assistant/system messages keep their role; consecutive assistant-side items
    /// (text, reasoning text folded in, tool calls) form one assistant message; each result a <c>tool</c> message;
    /// image attachments of the results are replaced by a note after the tool messages (no vision capability known).</summary>
    internal static JsonArray BuildMessages(ModelRequest request, bool vision = false)
    {
        var messages = new JsonArray();
        if (!string.IsNullOrEmpty(request.SystemPrompt)) messages.Add(new JsonObject { ["role"] = "system", ["content"] = request.SystemPrompt });

        var text = new System.Text.StringBuilder();
        JsonArray? calls = null;
        var omittedImages = 0;

        void FlushAssistant()
        {
            if (text.Length == 0 && calls is null) return;
            var m = new JsonObject { ["role"] = "assistant", ["content"] = text.Length > 0 ? text.ToString() : null };
            if (calls is not null) m["tool_calls"] = calls;
            messages.Add(m);
            text.Clear();
            calls = null;
        }

        var images = new List<ImageAttachment>();

        void FlushImages()
        {
            if (vision && images.Count > 0) // capability vision: the images themselves, as data URLs
            {
                messages.Add(new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray(images.Select(i => (JsonNode)new JsonObject
                    {
                        ["type"] = "image_url",
                        ["image_url"] = new JsonObject { ["url"] = $"data:{i.MimeType};base64,{i.Data}" },
                    }).ToArray()),
                });
                images.Clear();
                omittedImages = 0;
            }
            if (omittedImages == 0) return;
            messages.Add(new JsonObject
            {
                ["role"] = "user",
                ["content"] = $"[{omittedImages} image attachment(s) omitted: model does not support images]",
            });
            omittedImages = 0;
        }

        foreach (var item in request.Items)
        {
            if (item is not ToolResultItem) FlushImages();
            switch (item)
            {
                case MessageItem { Role: Role.Assistant } m:
                    text.Append(string.Concat(m.Content.Select(PartText)));
                    break;
                case ReasoningItem r:
                    text.Append(r.Text); // folded into the assistant text
                    break;
                case ToolCallItem c:
                    (calls ??= []).Add(new JsonObject
                    {
                        ["id"] = c.CallId,
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = ToolArguments.NormalizeToString(c.Arguments) },
                    });
                    break;
                case MessageItem m:
                    FlushAssistant();
                    messages.Add(new JsonObject
                    {
                        ["role"] = m.Role == Role.System ? "system" : "user",
                        ["content"] = string.Concat(m.Content.Select(PartText)),
                    });
                    break;
                case ToolResultItem r:
                    FlushAssistant();
                    messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = r.CallId, ["content"] = r.ModelText });
                    omittedImages += r.Attachments?.Count ?? 0;
                    if (r.Attachments is { } attached) images.AddRange(attached);
                    break;
            }
        }
        FlushAssistant();
        FlushImages();
        return messages;
    }

    private static string PartText(ContentPart p) => p switch
    {
        TextPart t => t.Text,
        RefusalPart r => r.Refusal,
        _ => "",
    };

    protected override IStreamMapper NewMapper() => new Mapper();

    /// <summary>Chat Completions chunks → normalised events (§3.3).</summary>
    internal sealed class Mapper : IStreamMapper
    {
        private readonly HashSet<int> _started = [];
        private readonly Dictionary<string, int> _byId = new(StringComparer.Ordinal);
        private int _lastIndex = 1;
        private bool _responseSeen;
        private bool _complete;

        public string TerminalSignal => "a finish_reason or data: [DONE]";

        public IEnumerable<StreamEvent> Map(string? eventName, string data)
        {
            if (data.Trim() == "[DONE]")
            {
                if (!_complete) yield return Complete(null, null); // Deviation (spec README item 8): [DONE] is terminal too
                yield break;
            }
            var json = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("chunk is not a JSON object");
            if (json["error"] is JsonObject error) // OpenRouter and some servers report failures mid-stream this way
            {
                yield return new StreamError(Scalar(error["code"]) ?? Scalar(error["type"]), Scalar(error["message"]) ?? data);
                yield break;
            }
            if (!_responseSeen && (json["id"] is not null || json["model"] is not null))
            {
                _responseSeen = true;
                yield return new Telemetry.StreamResponse((string?)json["id"], (string?)json["model"]);
            }
            if (json["choices"] is JsonArray { Count: > 0 } choices && choices[0] is JsonObject choice)
            {
                if (choice["delta"] is JsonObject delta)
                {
                    var reasoning = (string?)delta["reasoning_content"] ?? (string?)delta["reasoning"];
                    if (reasoning is { Length: > 0 }) yield return new BlockDelta(ThinkingIndex, DeltaKind.Thinking, reasoning);
                    if ((string?)delta["content"] is { Length: > 0 } content) yield return new BlockDelta(TextIndex, DeltaKind.Text, content);
                    // Deviation (spec README item 10): a refusal is assistant text like any other (the reference drops it).
                    if ((string?)delta["refusal"] is { Length: > 0 } refusal) yield return new BlockDelta(TextIndex, DeltaKind.Text, refusal);
                    if (delta["tool_calls"] is JsonArray toolCalls)
                    {
                        foreach (var tc in toolCalls.OfType<JsonObject>())
                        {
                            var fn = tc["function"] as JsonObject;
                            var id = (string?)tc["id"];
                            // servers that omit `index` (some Ollama versions): a new id is the next call
                            int index;
                            if ((int?)tc["index"] is { } i) index = i + 1;
                            else if (id is { Length: > 0 } && _byId.TryGetValue(id, out var known)) index = known;
                            else if (id is { Length: > 0 }) index = _started.Count == 0 ? 1 : _started.Max() + 1;
                            else index = _lastIndex;
                            _lastIndex = index;
                            if (id is { Length: > 0 }) _byId.TryAdd(id, index);
                            if (id is { Length: > 0 } && _started.Add(index))
                                yield return new BlockStart(index, BlockType.ToolUse, id, (string?)fn?["name"]);
                            if ((string?)fn?["arguments"] is { Length: > 0 } args) yield return new BlockDelta(index, DeltaKind.InputJson, args);
                        }
                    }
                }
                var finish = (string?)choice["finish_reason"];
                switch (finish)
                {
                    case null:
                        break;
                    case "tool_calls" or "function_call":
                        // no text stop: the open tool blocks complete at the (now known complete) stream end
                        yield return Complete(StopReason.ToolUse, finish);
                        break;
                    case "length":
                        yield return new BlockStop(TextIndex, BlockType.Text, StopReason.MaxTokens);
                        yield return Complete(StopReason.MaxTokens, finish);
                        break;
                    case "content_filter":
                        yield return new BlockStop(TextIndex, BlockType.Text, StopReason.EndTurn);
                        yield return Complete(StopReason.ContentFilter, finish);
                        break;
                    default: // stop, and anything newer
                        yield return new BlockStop(TextIndex, BlockType.Text, StopReason.EndTurn);
                        yield return Complete(StopReason.EndTurn, finish);
                        break;
                }
            }
            if (json["usage"] is JsonObject usage)
                yield return new StreamUsage(
                    (ulong?)usage["prompt_tokens"], (ulong?)usage["completion_tokens"], (ulong?)usage["total_tokens"],
                    (ulong?)usage["prompt_tokens_details"]?["cached_tokens"]);
        }

        /// <summary>Deviation (spec README item 8): the first finish_reason (or [DONE]) is the terminal signal.</summary>
        private StreamEvent Complete(StopReason? reason, string? provider)
        {
            _complete = true;
            return new StreamComplete(reason, provider);
        }
    }
}
