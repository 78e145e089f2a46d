using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Providers;

/// <summary>Scheme <c>gemini</c>: the Gemini API's <c>POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse</c>
/// (reference-engine §3.3). Hand-written over HTTP for the reasons on <see cref="HttpModelClient"/> (one error
/// classification, the stream-completeness rule, the exact layout); Google's .NET SDK adds nothing the wire needs.
/// <para><b>Deliberate deviations from the reference.</b> The key goes in the <c>x-goog-api-key</c> header, never as
/// <c>?key=</c> (a URL is what log lines, traces and proxies print). A call id is the model's <c>functionCall.id</c>
/// when it sends one, else <c>call_&lt;name&gt;</c> as in the reference, suffixed <c>_2</c>, <c>_3</c>… for further
/// calls of the same tool in one response (parallel calls of one tool would otherwise share an id).</para>
/// <para>Block indices: all text of a response is block 0, thought summaries block -1, the n-th function call block
/// n (1-based); a function call arrives whole, so it is a start, one <c>InputJson</c> delta and a stop. A
/// <c>thoughtSignature</c> (Gemini's reasoning round-trip material) becomes a metadata-only thinking block whose
/// stop carries it as the signature; it is sent back on the first function call (else the last text part) of the
/// model turn that follows it. The terminal signal is a candidate's <c>finishReason</c>: a body that ends without
/// one is an interrupted stream (spec README, "beyond the reference" 8).</para></summary>
public sealed class GeminiClient(ProviderSettings settings, HttpClient? http = null) : HttpModelClient(settings, http)
{
    public const int TextIndex = 0;
    public const int ThinkingIndex = -1;

    public override string Provider => "gemini";

    /// <summary>Model ids may be written <c>models/gemini-2.5-pro</c> or <c>gemini-2.5-pro</c>; a base that already ends
    /// in an API version (<c>/v1beta</c>, <c>/v1</c>) is used as is.</summary>
    public override Uri Endpoint
    {
        get
        {
            var model = Settings.Model.StartsWith("models/", StringComparison.Ordinal) ? Settings.Model["models/".Length..] : Settings.Model;
            var b = Settings.BaseUrl.ToString().TrimEnd('/');
            var last = b[(b.LastIndexOf('/') + 1)..];
            var versioned = last.Length >= 2 && last[0] == 'v' && char.IsAsciiDigit(last[1]);
            return new Uri($"{(versioned ? b : b + "/v1beta")}/models/{Uri.EscapeDataString(model)}:streamGenerateContent?alt=sse");
        }
    }

    /// <summary>Gemini models take images unless the catalog or manifest says otherwise.</summary>
    private bool Vision => Settings.Capability?.Vision ?? true;

    protected override void AddHeaders(HttpRequestHeaders headers)
    {
        if (Settings.ApiKey is { } key) headers.TryAddWithoutValidation("x-goog-api-key", key);
    }

    public override JsonObject BuildBody(ModelRequest request)
    {
        var cfg = request.Config;
        var body = new JsonObject();
        if (!string.IsNullOrEmpty(request.SystemPrompt))
            body["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = request.SystemPrompt }) };
        body["contents"] = BuildContents(request.Items, Vision);
        if (request.Tools.Count > 0)
            body["tools"] = new JsonArray(new JsonObject
            {
                // parametersJsonSchema takes a full JSON Schema; `parameters` only an OpenAPI subset that rejects
                // keys tools commonly use (additionalProperties, $schema).
                ["functionDeclarations"] = new JsonArray(request.Tools.Select(t => (JsonNode)new JsonObject
                {
                    ["name"] = t.Name,
                    ["description"] = t.Description,
                    ["parametersJsonSchema"] = OpenAIChatClient.ObjectSchema(t.InputSchema),
                }).ToArray()),
            });

        var generation = new JsonObject();
        if (cfg.MaxTokens is { } mt) generation["maxOutputTokens"] = mt;
        if (cfg.Temperature is { } temp) generation["temperature"] = temp;
        if (cfg.TopP is { } topP) generation["topP"] = topP;
        if (cfg.TopK is { } topK) generation["topK"] = topK;
        if (cfg.StopSequences.Count > 0) generation["stopSequences"] = new JsonArray(cfg.StopSequences.Select(s => (JsonNode)s!).ToArray());
        if (ThinkingConfig(cfg.Reasoning, Settings.Capability) is { } thinking) generation["thinkingConfig"] = thinking;
        if (generation.Count > 0) body["generationConfig"] = generation;
        return body;
    }

    /// <summary><c>thinkingConfig.thinkingBudget</c> for an integer reasoning budget (when the model takes budgets or its
    /// capability is unknown), <c>thinkingLevel</c> for an effort word when the model takes efforts; thought
    /// summaries are asked for whenever thinking is configured.</summary>
    internal static JsonObject? ThinkingConfig(JsonElement? reasoning, ModelCapability? capability)
    {
        if (reasoning is { ValueKind: JsonValueKind.Number } r && r.TryGetInt64(out var budget)
            && (capability is null || capability.SupportsBudget))
            return new JsonObject { ["thinkingBudget"] = budget, ["includeThoughts"] = true };
        if (reasoning is { ValueKind: JsonValueKind.String } e && capability is { SupportsEffort: true })
            return new JsonObject { ["thinkingLevel"] = e.GetString(), ["includeThoughts"] = true };
        return null;
    }

    /// <summary>History → <c>contents</c> with roles <c>user</c>/<c>model</c>. Consecutive model-side items (text,
    /// function calls, a reasoning signature) form one model turn; consecutive tool results one user turn of
    /// <c>functionResponse</c> parts (the call's name found by its id), followed by their images as
    /// <c>inlineData</c> parts (or a note for a model without vision); user and system messages are user turns.</summary>
    internal static JsonArray BuildContents(IReadOnlyList<HistoryItem> items, bool vision)
    {
        var contents = new JsonArray();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonArray? open = null;
        string? openKind = null; // "model", "results", "user"
        string? signature = null; // pending thoughtSignature for the model turn being built
        var images = new List<ImageAttachment>();

        JsonArray Target(string kind, string role)
        {
            if (open is not null && openKind == kind) return open;
            Close();
            open = new JsonArray();
            openKind = kind;
            contents.Add(new JsonObject { ["role"] = role, ["parts"] = open });
            return open;
        }

        void Close()
        {
            if (open is null) return;
            if (openKind == "model" && signature is not null)
            {
                var target = open.OfType<JsonObject>().FirstOrDefault(p => p.ContainsKey("functionCall"))
                             ?? open.OfType<JsonObject>().LastOrDefault();
                if (target is not null) target["thoughtSignature"] = signature;
                signature = null;
            }
            if (openKind == "results" && images.Count > 0)
            {
                if (vision)
                    foreach (var image in images)
                        open.Add(new JsonObject { ["inlineData"] = new JsonObject { ["mimeType"] = image.MimeType, ["data"] = image.Data } });
                else
                    open.Add(new JsonObject { ["text"] = $"[{images.Count} image attachment(s) omitted: model does not support images]" });
                images.Clear();
            }
            open = null;
            openKind = null;
        }

        foreach (var item in items)
        {
            switch (item)
            {
                case MessageItem { Role: Role.Assistant } m:
                    var text = Text(m);
                    if (text.Length > 0) Target("model", "model").Add(new JsonObject { ["text"] = text });
                    break;
                case MessageItem m:
                    var userText = Text(m);
                    if (userText.Length == 0) break;
                    Close(); // each user/system message is its own user turn
                    Target("user", "user").Add(new JsonObject { ["text"] = userText });
                    Close();
                    break;
                case ReasoningItem r:
                    // only the signature travels back (thought text is not accepted as input)
                    if (r.Signature is { Length: > 0 } sig)
                    {
                        Target("model", "model");
                        signature = sig;
                    }
                    break;
                case ToolCallItem c:
                    names[c.CallId] = c.Name;
                    var args = JsonNode.Parse(ToolArguments.NormalizeToString(c.Arguments));
                    var call = new JsonObject { ["name"] = c.Name, ["args"] = args is JsonObject ? args : new JsonObject() };
                    if (!IsSynthetic(c.CallId, c.Name)) call["id"] = c.CallId;
                    Target("model", "model").Add(new JsonObject { ["functionCall"] = call });
                    break;
                case ToolResultItem r:
                    var response = new JsonObject { ["name"] = names.GetValueOrDefault(r.CallId) ?? r.CallId };
                    if (!IsSynthetic(r.CallId, names.GetValueOrDefault(r.CallId))) response["id"] = r.CallId;
                    response["response"] = new JsonObject { [r.IsError ? "error" : "output"] = r.ModelText };
                    Target("results", "user").Add(new JsonObject { ["functionResponse"] = response });
                    if (r.Attachments is { Count: > 0 } attachments) images.AddRange(attachments);
                    break;
            }
        }
        Close();
        return contents;
    }

    /// <summary>Ids this client made up (<c>call_&lt;name&gt;</c>, <c>call_&lt;name&gt;_2</c>) are not sent back as
    /// Gemini ids.</summary>
    private static bool IsSynthetic(string id, string? name)
    {
        if (name is null) return id.StartsWith("call_", StringComparison.Ordinal);
        var prefix = "call_" + name;
        if (id == prefix) return true;
        return id.StartsWith(prefix + "_", StringComparison.Ordinal) && id[(prefix.Length + 1)..].All(char.IsAsciiDigit);
    }

    private static string Text(MessageItem m) => string.Concat(m.Content.Select(p => p switch
    {
        TextPart t => t.Text,
        RefusalPart r => r.Refusal,
        _ => "",
    }));

    protected override IStreamMapper NewMapper() => new Mapper();

    /// <summary>One <c>GenerateContentResponse</c> per SSE <c>data:</c> frame → normalised events.</summary>
    internal sealed class Mapper : IStreamMapper
    {
        private readonly Dictionary<string, int> _namesSeen = new(StringComparer.Ordinal);
        private int _nextTool = 1;
        private int _nextSignature = -2;
        private bool _finished;

        public bool Finished => _finished;

        /// <summary>The terminal signal, named in the interruption message.</summary>
        public string TerminalSignal => "a candidate's finishReason";

        public IEnumerable<StreamEvent> Map(string? eventName, string data)
        {
            var json = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("frame is not a JSON object");
            var events = new List<StreamEvent>();
            StreamComplete? completion = null;
            if (json["error"] is JsonObject error) // an error reported inside the stream
            {
                _finished = true;
                events.Add(new StreamError(Scalar(error["status"]) ?? Scalar(error["code"]), Scalar(error["message"]) ?? data));
                return events;
            }
            if (json["candidates"] is JsonArray candidates && candidates.FirstOrDefault() is JsonObject candidate)
            {
                // one candidate is asked for (candidateCount defaults to 1); others are ignored
                if (candidate["content"]?["parts"] is JsonArray parts)
                    foreach (var part in parts.OfType<JsonObject>()) MapPart(part, events);
                if ((string?)candidate["finishReason"] is { Length: > 0 } finish && finish != "FINISH_REASON_UNSPECIFIED")
                {
                    _finished = true;
                    var stop = finish switch { "MAX_TOKENS" => StopReason.MaxTokens, "SAFETY" or "PROHIBITED_CONTENT" or "BLOCKLIST" or "SPII" => StopReason.ContentFilter, _ => StopReason.EndTurn };
                    events.Add(new BlockStop(TextIndex, BlockType.Text, stop == StopReason.MaxTokens ? StopReason.MaxTokens : StopReason.EndTurn));
                    completion = new StreamComplete(stop, finish); // the terminal signal (spec README item 8), after this frame's usage
                }
            }
            else if ((string?)json["promptFeedback"]?["blockReason"] is { Length: > 0 } blocked)
            {
                // the prompt itself was refused: no candidate will ever come
                _finished = true;
                events.Add(new StreamError(blocked, $"prompt blocked by the provider ({blocked})"));
            }
            if (json["usageMetadata"] is JsonObject usage)
            {
                var prompt = (ulong?)usage["promptTokenCount"];
                var candidatesTokens = (ulong?)usage["candidatesTokenCount"];
                var thoughts = (ulong?)usage["thoughtsTokenCount"];
                ulong? output = candidatesTokens is null && thoughts is null ? null : (candidatesTokens ?? 0) + (thoughts ?? 0);
                events.Add(new StreamUsage(prompt, output, (ulong?)usage["totalTokenCount"],
                    (ulong?)usage["cachedContentTokenCount"] ?? 0)); // absent = nothing was cached
            }
            if (completion is not null) events.Add(completion);
            return events;
        }

        private void MapPart(JsonObject part, List<StreamEvent> events)
        {
            if (part["functionCall"] is JsonObject call)
            {
                var name = (string?)call["name"] ?? "";
                var n = _namesSeen[name] = _namesSeen.GetValueOrDefault(name) + 1;
                var id = (string?)call["id"] is { Length: > 0 } given ? given : n == 1 ? "call_" + name : $"call_{name}_{n}";
                var index = _nextTool++;
                events.Add(new BlockStart(index, BlockType.ToolUse, id, name));
                events.Add(new BlockDelta(index, DeltaKind.InputJson, call["args"] is JsonObject args ? args.ToJsonString() : "{}"));
                events.Add(new BlockStop(index, BlockType.ToolUse, StopReason.ToolUse));
            }
            else if ((string?)part["text"] is { } text)
            {
                if (part["thought"] is JsonValue t && t.GetValueKind() == JsonValueKind.True)
                {
                    if (text.Length > 0) events.Add(new BlockDelta(ThinkingIndex, DeltaKind.Thinking, text));
                }
                else if (text.Length > 0) events.Add(new BlockDelta(TextIndex, DeltaKind.Text, text));
            }
            if ((string?)part["thoughtSignature"] is { Length: > 0 } signature)
            {
                // metadata-only reasoning: its own index so it never closes the text or thought-summary block
                var index = _nextSignature--;
                events.Add(new BlockStart(index, BlockType.Thinking));
                events.Add(new BlockStop(index, BlockType.Thinking, null, new ReasoningData(Signature: signature)));
            }
        }

        /// <summary>The body ended: without a <c>finishReason</c> (or an in-stream error) the stream was cut.</summary>
        public IEnumerable<StreamEvent> End()
        {
            if (!_finished)
                throw new ModelException("stream interrupted: the response ended without " + TerminalSignal, retryable: true);
            return [];
        }
    }
}
