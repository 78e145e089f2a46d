using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Yoi.Messages;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A real <see cref="ClientWebSocket"/> client of `/api/ws`: sends one method per text message, decodes every
/// message it receives as an <see cref="Event"/> on a background task.</summary>
public sealed class WsClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private readonly ClientWebSocket _socket;
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Task _reader;

    private WsClient(ClientWebSocket socket)
    {
        _socket = socket;
        _reader = Task.Run(ReadLoopAsync);
    }

    public WebSocket Socket => _socket;

    /// <summary>Completes when the server closed the connection.</summary>
    public Task Closed => _reader;

    /// <summary>Connects; <paramref name="bearer"/> goes in the upgrade's Authorization header. A refused upgrade
    /// throws <see cref="WsRefusedException"/> with the HTTP status.</summary>
    public static async Task<WsClient> ConnectAsync(string baseUrl, string? bearer = null, string? origin = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (bearer is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + bearer);
        if (origin is not null) socket.Options.SetRequestHeader("Origin", origin);
        using var cts = new CancellationTokenSource(DefaultTimeout);
        try { await socket.ConnectAsync(new Uri(baseUrl.Replace("http://", "ws://") + "/api/ws"), cts.Token); }
        catch (WebSocketException e)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new WsRefusedException(status, e);
        }
        return new WsClient(socket);
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    // Answer the server's close so its side completes cleanly.
                    try { await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None); } catch { }
                    break;
                }
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                await _events.Writer.WriteAsync(Event.Decode(text));
            }
            _events.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _events.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _events.Writer.TryComplete(ex);
        }
    }

    public Task SendAsync(Method method) => SendRawAsync(method.Encode());

    public async Task SendRawAsync(string text) => await SendBytesAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>One text message of these bytes, sent in frames of at most <paramref name="frame"/> bytes.</summary>
    public async Task SendBytesAsync(byte[] bytes, int frame = 64 * 1024)
    {
        await _sendLock.WaitAsync();
        try
        {
            for (var offset = 0; offset < bytes.Length || offset == 0; offset += frame)
            {
                var n = Math.Min(frame, bytes.Length - offset);
                var last = offset + n >= bytes.Length;
                await _socket.SendAsync(bytes.AsMemory(offset, n), WebSocketMessageType.Text, last, CancellationToken.None);
                if (last) break;
            }
        }
        finally { _sendLock.Release(); }
    }

    public async Task<Event> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            if (await _events.Reader.WaitToReadAsync(cts.Token) && _events.Reader.TryRead(out var evt)) return evt;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no event within {(timeout ?? DefaultTimeout).TotalSeconds}s");
        }
        throw new EndOfStreamException("connection closed");
    }

    public async Task<List<Event>> CollectUntilAsync(Func<Event, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        var seen = new List<Event>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no matching event in time; read:\n{WireClient.Dump(seen)}");
            var evt = await ReadAsync(left);
            seen.Add(evt);
            if (predicate(evt)) return seen;
        }
    }

    public async Task<T> ReadUntilAsync<T>(Func<T, bool>? predicate = null, TimeSpan? timeout = null) where T : Event =>
        (T)(await CollectUntilAsync(e => e is T t && (predicate is null || predicate(t)), timeout))[^1];

    /// <summary>Every event until the server closes the connection.</summary>
    public async Task<List<Event>> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var list = new List<Event>();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"connection still open; received:\n{WireClient.Dump(list)}");
            try { list.Add(await ReadAsync(left)); }
            catch (EndOfStreamException) { return list; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_socket.State == WebSocketState.Open) await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            await _reader.WaitAsync(TimeSpan.FromSeconds(3));
        }
        catch { }
        _socket.Dispose();
        _sendLock.Dispose();
    }
}

public sealed class WsRefusedException(HttpStatusCode status, Exception inner)
    : Exception($"WebSocket upgrade refused: {(int)status} {status}", inner)
{
    public HttpStatusCode Status { get; } = status;
}
