using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;

namespace Yoi.Actors.Providers;

/// <summary>Where scheme <c>chat_client</c> finds the <see cref="IChatClient"/> a manifest names by <c>client</c>:
/// the node's registrations (<c>YoiNodeOptions.AddChatClient</c>), else a keyed <see cref="IChatClient"/> service of the
/// node's container (<c>services.AddKeyedChatClient(name, …)</c>). Clients are built once per name and shared.</summary>
public sealed class ChatClientSource(IReadOnlyDictionary<string, Func<IServiceProvider, IChatClient>> factories, IServiceProvider services)
{
    private readonly Dictionary<string, IChatClient> _built = new(StringComparer.Ordinal);

    public IChatClient Get(string name)
    {
        lock (_built)
        {
            if (_built.TryGetValue(name, out var client)) return client;
            client = factories.TryGetValue(name, out var factory)
                ? factory(services) ?? throw new ManifestException($"[model] client \"{name}\": its factory returned null")
                : (services as Microsoft.Extensions.DependencyInjection.IKeyedServiceProvider)?.GetKeyedService(typeof(IChatClient), name) as IChatClient
                  ?? throw new ManifestException(
                      $"[model] client \"{name}\" is not registered on this node (registered: {(factories.Count == 0 ? "none" : string.Join(", ", factories.Keys.Order(StringComparer.Ordinal)))}; " +
                      "use AddYoiNode(options, o => o.AddChatClient(name, sp => …)) or a keyed IChatClient service)");
            return _built[name] = client;
        }
    }

    /// <summary>A model factory that serves scheme <c>chat_client</c> from this source and every other scheme from
    /// <paramref name="inner"/>.</summary>
    public Func<WorkerManifest, string, IModelClient> Wrap(Func<WorkerManifest, string, IModelClient> inner) =>
        (manifest, worker) => manifest.Model.Scheme == "chat_client"
            ? new ChatClientModel(Get(manifest.Model.Client!), manifest.Model.Client!, manifest.Model.ModelId, manifest.Model.Capability)
            : inner(manifest, worker);
}

/// <summary>Scheme <c>chat_client</c>: any Microsoft.Extensions.AI <see cref="IChatClient"/> as the Worker's model
/// (Azure OpenAI with managed identity, OllamaSharp, Bedrock, a vendor SDK's <c>AsIChatClient()</c>, with whatever
/// middleware — caching, rate limiting, OpenTelemetry — the node composed).
/// <para>Streaming updates map onto the engine's events: text at block 0, reasoning text as display-only thinking
/// block -1, each <see cref="FunctionCallContent"/> (arguments arrive whole) as a tool block of its own, usage,
/// <see cref="ErrorContent"/> as a stream error. The terminal signal is a <see cref="ChatResponseUpdate.FinishReason"/>:
/// a response that ends without one is an interrupted stream (spec README, "beyond the reference" 8).</para>
/// <para>Tools are declarations only (<see cref="AIFunctionDeclaration"/>): the engine executes them, with its scope,
/// permissions and journal. A client whose pipeline contains a <see cref="FunctionInvokingChatClient"/> is refused,
/// since it would run tool calls itself, outside the engine.</para>
/// <para>Errors before the first update are open failures for the engine's retry policy: the status is read from the
/// exception (<see cref="HttpRequestException.StatusCode"/>, or the integer <c>Status</c> that
/// System.ClientModel's <c>ClientResultException</c> and Azure's <c>RequestFailedException</c> carry — read by name,
/// so no SDK is a dependency of this assembly). Configure the client without its own retries (e.g.
/// <c>OpenAIClientOptions.RetryPolicy = new ClientRetryPolicy(0)</c>): the engine's policy owns retries.</para></summary>
public sealed class ChatClientModel : IModelClient
{
    public const int TextIndex = 0;
    public const int ThinkingIndex = -1;

    private readonly IChatClient _client;
    private readonly ModelCapability? _capability;

    public ChatClientModel(IChatClient client, string name, string? modelId = null, ModelCapability? capability = null)
    {
        if (client.GetService(typeof(FunctionInvokingChatClient)) is not null)
            throw new ManifestException(
                $"[model] client \"{name}\" invokes functions itself (UseFunctionInvocation / FunctionInvokingChatClient); " +
                "register it without that middleware: the Worker's engine executes tools");
        _client = client;
        _capability = capability;
        Name = name;
        var metadata = client.GetService(typeof(ChatClientMetadata)) as ChatClientMetadata;
        Model = modelId ?? metadata?.DefaultModelId ?? name;
        ModelIdOverride = modelId;
    }

    /// <summary>The registration name (<c>[model] client</c>).</summary>
    public string Name { get; }

    public string Provider => "chat_client";

    public string Model { get; }

    /// <summary>The manifest's <c>model_id</c>, sent as <see cref="ChatOptions.ModelId"/>; null = the client's default.</summary>
    private string? ModelIdOverride { get; }

    public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var messages = BuildMessages(request, _capability?.Vision ?? false);
        var options = BuildOptions(request);
        IAsyncEnumerator<ChatResponseUpdate> updates;
        try
        {
            updates = _client.GetStreamingResponseAsync(messages, options, ct).GetAsyncEnumerator(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw Classify(ex);
        }
        await using var _ = updates.ConfigureAwait(false);

        var first = true;
        var finished = false;
        var nextTool = 1;
        while (true)
        {
            bool more;
            try
            {
                more = await updates.MoveNextAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (first)
            {
                throw Classify(ex); // nothing streamed yet: an open failure (retry policy)
            }
            catch (Exception ex)
            {
                throw new ModelException("stream interrupted: " + ex.Message, retryable: true, inner: ex);
            }
            if (!more) break;
            first = false;
            var update = updates.Current;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextReasoningContent r when r.Text.Length > 0:
                        yield return new BlockDelta(ThinkingIndex, DeltaKind.Thinking, r.Text);
                        break;
                    case TextContent t when t.Text.Length > 0:
                        yield return new BlockDelta(TextIndex, DeltaKind.Text, t.Text);
                        break;
                    case FunctionCallContent call:
                        var index = nextTool++;
                        yield return new BlockStart(index, BlockType.ToolUse, call.CallId, call.Name);
                        yield return new BlockDelta(index, DeltaKind.InputJson, ArgumentsJson(call));
                        yield return new BlockStop(index, BlockType.ToolUse, StopReason.ToolUse);
                        break;
                    case UsageContent { Details: var u }:
                        yield return new StreamUsage(Count(u.InputTokenCount), Count(u.OutputTokenCount), Count(u.TotalTokenCount),
                            Count(u.CachedInputTokenCount) ?? 0);
                        break;
                    case ErrorContent error:
                        yield return new StreamError(error.ErrorCode, error.Message);
                        yield break;
                }
            }
            if (update.FinishReason is { } reason)
            {
                finished = true;
                if (reason == ChatFinishReason.Length) yield return new BlockStop(TextIndex, BlockType.Text, StopReason.MaxTokens);
                else if (reason != ChatFinishReason.ToolCalls) yield return new BlockStop(TextIndex, BlockType.Text, StopReason.EndTurn);
                // the terminal signal (spec README item 8): a response without a finish reason is interrupted
                yield return new StreamComplete(
                    reason == ChatFinishReason.Length ? StopReason.MaxTokens
                    : reason == ChatFinishReason.ContentFilter ? StopReason.ContentFilter
                    : reason == ChatFinishReason.ToolCalls ? StopReason.ToolUse : StopReason.EndTurn, reason.Value);
            }
        }
        if (!finished)
            throw new ModelException("stream interrupted: the chat client's response ended without a finish reason", retryable: true);
    }

    private static ulong? Count(long? n) => n is { } v && v >= 0 ? (ulong)v : null;

    /// <summary>The call's arguments as the model sent them. When the client could not parse them, the raw text is
    /// lost to the abstraction: a non-JSON marker is sent on so the engine answers the call with a parse error
    /// instead of running the tool with guessed arguments.</summary>
    private static string ArgumentsJson(FunctionCallContent call) => call.Exception is { } ex
        ? "<arguments could not be parsed: " + ex.Message + ">"
        : JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions);

    private ChatOptions BuildOptions(ModelRequest request)
    {
        var cfg = request.Config;
        var options = new ChatOptions
        {
            ModelId = ModelIdOverride,
            MaxOutputTokens = cfg.MaxTokens is { } mt ? (int)Math.Min(mt, int.MaxValue) : null,
            Temperature = cfg.Temperature is { } t ? (float)t : null,
            TopP = cfg.TopP is { } p ? (float)p : null,
            TopK = cfg.TopK is { } k ? (int)Math.Min(k, int.MaxValue) : null,
            StopSequences = cfg.StopSequences.Count > 0 ? cfg.StopSequences.ToList() : null,
        };
        if (request.Tools.Count > 0)
        {
            options.Tools = request.Tools
                .Select(tool => (AITool)AIFunctionFactory.CreateDeclaration(tool.Name, tool.Description, tool.InputSchema))
                .ToList();
            options.ToolMode = ChatToolMode.Auto;
            if (_capability is { ToolCalling: "sequential" }) options.AllowMultipleToolCalls = false;
        }
        if (cfg.Reasoning is { ValueKind: JsonValueKind.String } effort && _capability is null or { SupportsEffort: true })
            options.Reasoning = new ReasoningOptions
            {
                Effort = effort.GetString() switch
                {
                    "minimal" or "low" => ReasoningEffort.Low,
                    "medium" => ReasoningEffort.Medium,
                    "xhigh" => ReasoningEffort.ExtraHigh,
                    _ => ReasoningEffort.High,
                },
            };
        return options;
    }

    /// <summary>History → chat messages: the system prompt first; user and system messages keep their role;
    /// consecutive assistant-side items (reasoning text, text, function calls) form one assistant message; consecutive
    /// results one tool message of <see cref="FunctionResultContent"/>s, their images after it as a user message of
    /// <see cref="DataContent"/> for a vision model, else the reference's note.</summary>
    internal static List<ChatMessage> BuildMessages(ModelRequest request, bool vision)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(request.SystemPrompt)) messages.Add(new ChatMessage(ChatRole.System, request.SystemPrompt));
        ChatMessage? open = null;
        var images = new List<ImageAttachment>();

        ChatMessage Target(ChatRole role)
        {
            if (open is not null && open.Role == role) return open;
            Close();
            open = new ChatMessage(role, (IList<AIContent>)[]);
            messages.Add(open);
            return open;
        }

        void Close()
        {
            if (open?.Role == ChatRole.Tool && images.Count > 0)
            {
                messages.Add(vision
                    ? new ChatMessage(ChatRole.User, images.Select(i => (AIContent)new DataContent(Convert.FromBase64String(i.Data), i.MimeType)).ToList())
                    : new ChatMessage(ChatRole.User, $"[{images.Count} image attachment(s) omitted: model does not support images]"));
                images.Clear();
            }
            open = null;
        }

        foreach (var item in request.Items)
        {
            switch (item)
            {
                case MessageItem { Role: Role.Assistant } m:
                    var text = Text(m);
                    if (text.Length > 0) Target(ChatRole.Assistant).Contents.Add(new TextContent(text));
                    break;
                case MessageItem m:
                    var userText = Text(m);
                    if (userText.Length == 0) break;
                    Close();
                    messages.Add(new ChatMessage(m.Role == Role.System ? ChatRole.System : ChatRole.User, userText));
                    break;
                case ReasoningItem r:
                    if (r.Text.Length > 0 || r.EncryptedContent is not null)
                        Target(ChatRole.Assistant).Contents.Add(new TextReasoningContent(r.Text) { ProtectedData = r.EncryptedContent ?? r.Signature });
                    break;
                case ToolCallItem c:
                    var args = JsonSerializer.Deserialize<Dictionary<string, object?>>(ToolArguments.NormalizeToString(c.Arguments), AIJsonUtilities.DefaultOptions);
                    Target(ChatRole.Assistant).Contents.Add(new FunctionCallContent(c.CallId, c.Name, args));
                    break;
                case ToolResultItem r:
                    Target(ChatRole.Tool).Contents.Add(new FunctionResultContent(r.CallId, r.ModelText));
                    if (r.Attachments is { Count: > 0 } attached) images.AddRange(attached);
                    break;
            }
        }
        Close();
        return messages;
    }

    private static string Text(MessageItem m) => string.Concat(m.Content.Select(p => p switch
    {
        TextPart t => t.Text,
        RefusalPart r => r.Refusal,
        _ => "",
    }));

    /// <summary>An exception before the first update → <see cref="ModelException"/> with the status when the exception
    /// carries one (retryable per §2's status list), else a retryable transport error for I/O failures.</summary>
    internal static ModelException Classify(Exception ex)
    {
        if (ex is ModelException me) return me;
        int? status = ex switch
        {
            HttpRequestException { StatusCode: { } code } => (int)code,
            _ => ex.GetType().GetProperty("Status")?.GetValue(ex) is int s && s > 0 ? s : null,
        };
        if (status is { } st) return new ModelException(ex.Message, st, inner: ex);
        var transport = ex is HttpRequestException or IOException or TimeoutException || ex.InnerException is HttpRequestException or IOException;
        return new ModelException((transport ? "connection error: " : "") + ex.Message, retryable: transport, inner: ex);
    }
}
