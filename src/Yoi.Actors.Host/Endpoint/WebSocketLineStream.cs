using System.Net.WebSockets;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>A WebSocket seen as a JSON Lines byte stream, so `/api/ws` runs the socket endpoint's own
/// <see cref="ClientConnection"/> (line reader, limits, hello, attach, methods) unchanged: one text message in is
/// one line (its bytes, then a `\n` at the end of the message), and every line written out is sent as one text
/// message without its `\n`. Frames are passed through as they arrive, never assembled first, so the line limit of
/// <see cref="LineReader"/> bounds what an oversize message costs the node exactly as on the socket.
/// No library offers this adapter (WebSocketStream in .NET 10 keeps message boundaries out of the byte stream).</summary>
public sealed class WebSocketLineStream(WebSocket socket) : Stream
{
    private readonly MemoryStream _pendingWrite = new();
    private readonly byte[] _in = new byte[LineReader.SegmentSize];
    private int _inOffset, _inCount;
    private Task<ValueWebSocketReceiveResult>? _receive; // outstanding receive, kept across a cancelled read
    private bool _newlineOwed; // the message whose bytes are in _in ended: its `\n` follows them
    private bool _ended;

    public WebSocket Socket => socket;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    /// <summary>A cancelled read leaves the receive pending for the next read instead of cancelling it: a WebSocket
    /// aborts on a cancelled receive, and the `hello` deadline must still be able to send its error line.</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (buffer.Length == 0) return 0;
        while (true)
        {
            if (_inCount > 0)
            {
                var n = Math.Min(_inCount, buffer.Length);
                _in.AsMemory(_inOffset, n).CopyTo(buffer);
                _inOffset += n;
                _inCount -= n;
                return n;
            }
            if (_newlineOwed)
            {
                _newlineOwed = false;
                buffer.Span[0] = (byte)'\n';
                return 1;
            }
            if (_ended) return 0;
            _receive ??= socket.ReceiveAsync(_in.AsMemory(), CancellationToken.None).AsTask();
            ValueWebSocketReceiveResult result;
            try { result = await _receive.WaitAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested && !_receive.IsCompleted) { throw; }
            catch (WebSocketException e)
            {
                _receive = null;
                throw new IOException(e.Message, e);
            }
            _receive = null;
            if (result.MessageType == WebSocketMessageType.Close)
            {
                _ended = true;
                return 0;
            }
            _inOffset = 0;
            _inCount = result.Count;
            _newlineOwed = result.EndOfMessage;
        }
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        await ReadAsync(buffer.AsMemory(offset, count), ct);

    /// <summary>Sends every complete line of what was written as one text message; a partial line waits for its `\n`
    /// (<see cref="ClientConnection"/> always writes whole lines).</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        while (buffer.Length > 0)
        {
            var newline = buffer.Span.IndexOf((byte)'\n');
            if (newline < 0)
            {
                _pendingWrite.Write(buffer.Span);
                return;
            }
            ReadOnlyMemory<byte> line = buffer[..newline];
            if (_pendingWrite.Length > 0)
            {
                _pendingWrite.Write(line.Span);
                line = _pendingWrite.ToArray();
                _pendingWrite.SetLength(0);
            }
            try { await socket.SendAsync(line, WebSocketMessageType.Text, endOfMessage: true, ct); }
            catch (WebSocketException e) { throw new IOException(e.Message, e); }
            buffer = buffer[(newline + 1)..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
    public override void Flush() { }

    /// <summary>The half-close of the socket endpoint: a Close frame after everything written (the peer reads all
    /// lines, then the end); reading continues until the peer's Close.</summary>
    public async Task CloseOutputAsync(TimeSpan timeout)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        using var cts = new CancellationTokenSource(timeout);
        try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token); }
        catch { /* peer gone */ }
    }

    /// <summary>Close now (the socket endpoint's shutdown of both directions).</summary>
    public void Abort()
    {
        try { socket.Abort(); } catch { /* already closed */ }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pendingWrite.Dispose();
            socket.Dispose();
        }
        base.Dispose(disposing);
    }
}
