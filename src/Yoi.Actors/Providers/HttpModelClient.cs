using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Yoi.Actors.Engine;

namespace Yoi.Actors.Providers;

/// <summary>The HTTP transport shared by the provider schemes (reference-engine §3.1): POSTs the scheme's JSON body
/// with <c>Accept: text/event-stream</c>, classifies non-2xx responses (§2), decodes the SSE byte stream and feeds
/// each frame to a per-stream <see cref="IStreamMapper"/>.
/// <para><b>Why not the official SDKs / Microsoft.Extensions.AI.</b> The Anthropic (13.x) and OpenAI (2.x) SDKs do
/// expose raw deltas (the Anthropic one even signature deltas), <c>MaxRetries = 0</c> and a base URL. Their SSE decoding
/// (<c>System.Net.ServerSentEvents</c>) is not the reason: it drops a frame cut by the end of a connection-delimited body
/// where <see cref="SseReader"/> raises, but providers send chunked bodies, where a cut socket raises under either
/// parser, and a body that ends cleanly at a frame boundary looks like a normal end to both (only the scheme's
/// terminal event tells them apart). The reasons are these: their error types differ
/// per SDK, whereas §2 wants one classification (status, <c>error.code</c> else <c>error.type</c>, message else the
/// raw body, integer Retry-After), the Ollama Anthropic endpoint needs no auth at all (the OpenAI SDK insists on a
/// credential), and §3.3 fixes the request layout to the field (merged assistant bursts, <c>store:false</c>,
/// <c>include</c>, the fine-grained-tool-streaming beta header). Microsoft.Extensions.AI's OpenAI adapter buffers
/// tool-call arguments and surfaces a call only once complete, so it cannot produce the <c>InputJson</c> deltas.
/// Each scheme is therefore ~300 lines over <see cref="HttpClient"/>: exact, and no SDK retry layer to disable.</para>
/// <para>The provider layer never retries: open failures surface as <see cref="ModelException"/> for the engine's
/// retry policy; a failure after events were yielded surfaces after them (the engine continues the stream).</para></summary>
public abstract class HttpModelClient : IModelClient
{
    /// <summary>One pooled handler for every provider client of the process (clients are cheap, sockets are not).
    /// No timeout here: the engine times the open and the first event; a stream may legitimately run for minutes.</summary>
    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private const int MaxErrorBody = 64 * 1024;

    /// <summary>Request bodies: UTF-8 JSON without gratuitous \u escapes (<c>+</c>, quotes, non-ASCII text).</summary>
    public static readonly JsonSerializerOptions WireJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    protected HttpModelClient(ProviderSettings settings, HttpClient? http = null)
    {
        Settings = settings;
        Http = http ?? SharedHttp;
    }

    protected ProviderSettings Settings { get; }

    protected HttpClient Http { get; }

    public abstract string Provider { get; }

    public string Model => Settings.Model;

    /// <summary>The endpoint the request is POSTed to.</summary>
    public abstract Uri Endpoint { get; }

    /// <summary>The JSON body for one request (public for tests and tracing; never contains the key).</summary>
    public abstract JsonObject BuildBody(ModelRequest request);

    /// <summary>Auth and scheme headers (the key goes here and nowhere else).</summary>
    protected abstract void AddHeaders(HttpRequestHeaders headers);

    protected abstract IStreamMapper NewMapper();

    public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var enumerator = await OpenAsync(request, ct).ConfigureAwait(false);
        await using (enumerator.ConfigureAwait(false))
        {
            while (await enumerator.MoveNextAsync().ConfigureAwait(false))
                yield return enumerator.Current;
        }
    }

    /// <summary>Sends the request and awaits the response headers (the engine's <c>stream_open</c> phase); the
    /// returned enumerator reads the body.</summary>
    public async ValueTask<IAsyncEnumerator<StreamEvent>> OpenAsync(ModelRequest request, CancellationToken ct)
    {
        var json = BuildBody(request).ToJsonString(WireJson);
        using var message = new HttpRequestMessage(HttpMethod.Post, Endpoint)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        AddHeaders(message.Headers);

        HttpResponseMessage response;
        try
        {
            response = await Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // connection refused / reset / DNS: retryable transport errors (§2)
            throw new ModelException(Redact("connection error: " + ex.Message), retryable: true, inner: ex);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response) throw await ClassifyAsync(response, ct).ConfigureAwait(false);
        }
        return new ResponseEnumerator(this, response, ct);
    }

    /// <summary>§2: <c>Api{status, code, message, retry_after}</c> from a non-2xx response.</summary>
    private async Task<ModelException> ClassifyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        string body;
        try
        {
            body = await ReadBoundedAsync(response.Content, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            body = "";
        }
        var (code, text) = ParseErrorBody(body);
        if (string.IsNullOrWhiteSpace(text)) text = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
        TimeSpan? retryAfter = null;
        if (response.Headers.TryGetValues("Retry-After", out var values)
            && long.TryParse(values.FirstOrDefault()?.Trim(), out var seconds) && seconds >= 0)
            retryAfter = TimeSpan.FromSeconds(seconds);
        return new ModelException(Redact(text), status, code is null ? null : Redact(code), retryAfter);
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[MaxErrorBody];
        var total = 0;
        int n;
        while (total < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false)) > 0) total += n;
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    /// <summary><c>code</c> = <c>error.code</c> else <c>error.type</c> (inside <c>error</c> if present, else the
    /// top-level object); <c>message</c> = <c>error.message</c> else the raw body.</summary>
    public static (string? Code, string Message) ParseErrorBody(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject root)
            {
                var obj = root["error"] as JsonObject ?? root;
                // Google's errors carry the HTTP status as a number in `code` and the name in `status`
                var code = obj["code"] is JsonValue c && c.GetValueKind() == JsonValueKind.Number && Scalar(obj["status"]) is { } status
                    ? status
                    : Scalar(obj["code"]) ?? Scalar(obj["type"]);
                var message = Scalar(obj["message"]) ?? body;
                return (code, message);
            }
        }
        catch (JsonException)
        {
        }
        return (null, body.Trim());
    }

    internal static string? Scalar(JsonNode? node) => node is JsonValue v
        ? v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.Number => v.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        }
        : null;

    /// <summary>Providers sometimes echo (part of) the key in error text; it never leaves this layer.</summary>
    protected internal string Redact(string text) =>
        Settings.ApiKey is { Length: >= 4 } key && text.Contains(key, StringComparison.Ordinal)
            ? text.Replace(key, "[redacted]", StringComparison.Ordinal)
            : text;

    /// <summary>Reads the SSE body through the scheme's mapper. Transport failures, frames cut by the end of the
    /// connection and a body that ends without the mapper's terminal signal surface as a retryable
    /// <see cref="ModelException"/> after the events already yielded; a frame that is not valid JSON as a
    /// non-retryable one.</summary>
    private sealed class ResponseEnumerator : IAsyncEnumerator<StreamEvent>
    {
        private readonly HttpModelClient _client;
        private readonly HttpResponseMessage _response;
        private readonly CancellationToken _ct;
        private readonly IStreamMapper _mapper;
        private readonly Queue<StreamEvent> _queue = new();
        private IAsyncEnumerator<SseFrame>? _frames;
        private bool _ended;
        private bool _complete;
        private ModelException? _pendingError;

        public ResponseEnumerator(HttpModelClient client, HttpResponseMessage response, CancellationToken ct)
        {
            _client = client;
            _response = response;
            _ct = ct;
            _mapper = client.NewMapper();
        }

        public StreamEvent Current { get; private set; } = null!;

        private void Enqueue(StreamEvent e)
        {
            if (e is StreamComplete) _complete = true;
            _queue.Enqueue(e);
        }

        public async ValueTask<bool> MoveNextAsync()
        {
            while (_queue.Count == 0)
            {
                if (_pendingError is { } pending)
                {
                    _pendingError = null;
                    throw pending;
                }
                if (_ended) return false;
                await PumpAsync().ConfigureAwait(false);
            }
            Current = _queue.Dequeue();
            return true;
        }

        private async Task PumpAsync()
        {
            try
            {
                if (_frames is null)
                {
                    var body = await _response.Content.ReadAsStreamAsync(_ct).ConfigureAwait(false);
                    _frames = new SseReader(body).ReadAllAsync(_ct).GetAsyncEnumerator(_ct);
                }
                if (!await _frames.MoveNextAsync().ConfigureAwait(false))
                {
                    _ended = true;
                    foreach (var e in _mapper.End()) Enqueue(e);
                    // Deviation (spec README item 8): a body that ends without the scheme's terminal signal — however
                    // cleanly, e.g. a proxy closing between two events — is an interrupted stream, never a finished one.
                    if (!_complete) _pendingError = StreamCompleteness.Interrupted(_mapper.TerminalSignal); // after End()'s events
                    return;
                }
                var frame = _frames.Current;
                foreach (var e in _mapper.Map(frame.Event, frame.Data))
                    Enqueue(e is StreamError err ? new StreamError(err.Code, _client.Redact(err.Message)) : e);
            }
            catch (OperationCanceledException) when (_ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (_complete && ex is SseTruncatedException or IOException or HttpRequestException
                                           or ObjectDisposedException or JsonException)
            {
                // The terminal signal already arrived: the response is complete; a body broken afterwards (inside a
                // trailing usage chunk or [DONE]) only loses trailing metadata and must not make the stream "interrupted"
                // (continuing a complete answer would duplicate it).
                _ended = true;
            }
            catch (SseTruncatedException ex)
            {
                _ended = true;
                throw new ModelException("stream interrupted: " + ex.Message, retryable: true, inner: ex);
            }
            catch (JsonException ex)
            {
                _ended = true;
                throw new ModelException("invalid JSON in stream frame: " + ex.Message, retryable: false, inner: ex);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
            {
                _ended = true;
                throw new ModelException(_client.Redact("stream interrupted: " + ex.Message), retryable: true, inner: ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_frames is not null)
            {
                try { await _frames.DisposeAsync().ConfigureAwait(false); } catch { /* closing anyway */ }
            }
            _response.Dispose();
        }
    }
}

/// <summary>Per-stream state of a scheme's SSE parser: <c>(event name, data) → 0..n events</c>.</summary>
public interface IStreamMapper
{
    IEnumerable<StreamEvent> Map(string? eventName, string data);

    /// <summary>Deviation (spec README item 8): the scheme's terminal signal, named for the interruption message
    /// (e.g. <c>"message_stop"</c>). The mapper yields a <see cref="StreamComplete"/> when it sees that signal; the
    /// shared read loop reports a body that ends before one as interrupted (<see cref="StreamCompleteness"/>).</summary>
    string TerminalSignal { get; }

    /// <summary>Events to emit when the body ended cleanly (usually none).</summary>
    IEnumerable<StreamEvent> End() => [];
}
