using System.Text.Json;
using Yoi.Messages;

namespace Yoi.Actors.Engine;

public sealed record ToolDefinition(string Name, string Description, JsonElement InputSchema);

/// <summary>One LLM request: system prompt, the (possibly projected) context, tools sorted by name.</summary>
public sealed record ModelRequest(
    string? SystemPrompt,
    IReadOnlyList<HistoryItem> Items,
    IReadOnlyList<ToolDefinition> Tools,
    RequestConfig Config,
    int? CacheAnchor = null,
    string? CacheKey = null);

/// <summary>A failure talking to the model. Thrown before the first event it is an *open* failure
/// (subject to the retry policy); after the first event it is a stream break (continuation).</summary>
public sealed class ModelException : Exception
{
    public ModelException(string message, int? status = null, string? code = null, TimeSpan? retryAfter = null,
        bool? retryable = null, Exception? inner = null) : base(message, inner)
    {
        Status = status;
        Code = code;
        RetryAfter = retryAfter;
        IsRetryable = retryable ?? (status is { } s && RetryableStatuses.Contains(s));
    }

    public static readonly IReadOnlySet<int> RetryableStatuses = new HashSet<int> { 408, 425, 429, 500, 502, 503, 504, 529 };

    public int? Status { get; }
    public string? Code { get; }
    public TimeSpan? RetryAfter { get; }
    public bool IsRetryable { get; }

    /// <summary>"API error [code]: message" style display used in run_errored / error events.</summary>
    public string Display => Code is null ? Message : $"API error [{Code}]: {Message}";
}

/// <summary>A streaming LLM client. Implementations: the scripted model, provider HTTP clients.
/// The provider layer never retries: the engine's retry policy owns retries.</summary>
public interface IModelClient
{
    /// <summary>`anthropic`, `openai_chat`, `openai_responses`, `gemini` or `scripted`.</summary>
    string Provider { get; }

    string Model { get; }

    /// <summary>Streams normalised events. Errors are thrown as <see cref="ModelException"/> (or
    /// <see cref="OperationCanceledException"/> when <paramref name="ct"/> fires).</summary>
    IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, CancellationToken ct);

    /// <summary>The output token limit a request with <paramref name="config"/> is sent with (null: the provider's
    /// own default), named in the token-limit alert (spec README item 10).</summary>
    int? MaxOutputTokens(RequestConfig config) => config.MaxTokens is { } n ? (int)n : null;

    /// <summary>Opens the stream: the engine awaits this under its <c>stream_open</c> timeout, then waits for the
    /// first event under the <c>stream_first_event</c> timeout. The default enumerates <see cref="StreamAsync"/>
    /// lazily (all work then happens while waiting for the first event); HTTP clients may override it to send the
    /// request and await the response headers here. Errors follow the same rules as <see cref="StreamAsync"/>.</summary>
    ValueTask<IAsyncEnumerator<StreamEvent>> OpenAsync(ModelRequest request, CancellationToken ct) =>
        ValueTask.FromResult(StreamAsync(request, ct).GetAsyncEnumerator(ct));
}
