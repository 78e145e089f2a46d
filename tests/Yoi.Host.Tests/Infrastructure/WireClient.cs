using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Yoi.Messages;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A JSON Lines client of the node endpoint: writes methods (or raw lines), decodes every line it reads
/// as an <see cref="Event"/> on a background task, and lets tests wait for events with timeouts.</summary>
public sealed class WireClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>();
    private readonly List<Event> _received = [];
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _reader;

    private WireClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Every event read so far (including those not yet consumed by a Read call).</summary>
    public IReadOnlyList<Event> Received { get { lock (_received) return _received.ToList(); } }

    /// <summary>Completes when the server closed the connection.</summary>
    public Task Closed => _reader;

    public static async Task<WireClient> ConnectAsync(string socketPath, TimeSpan? timeout = null)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token);
        return new WireClient(socket);
    }

    /// <summary>Connects to the TCP endpoint (`host:port`); the first line must then be `hello`.</summary>
    public static async Task<WireClient> ConnectTcpAsync(string hostPort, TimeSpan? timeout = null)
    {
        var i = hostPort.LastIndexOf(':');
        var endPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(hostPort[..i].Trim('[', ']')), int.Parse(hostPort[(i + 1)..]));
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        await socket.ConnectAsync(endPoint, cts.Token);
        return new WireClient(socket);
    }

    private async Task ReadLoopAsync()
    {
        using var reader = new StreamReader(_stream, new UTF8Encoding(false), false, 8192, leaveOpen: true);
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                line = line.Trim();
                if (line.Length == 0) continue;
                var evt = Event.Decode(line);
                lock (_received) _received.Add(evt);
                await _events.Writer.WriteAsync(evt);
            }
            _events.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
        {
            _events.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _events.Writer.TryComplete(ex);
        }
    }

    public Task SendAsync(Method method) => SendRawAsync(method.Encode());

    public async Task SendRawAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
        }
        finally { _writeLock.Release(); }
    }

    /// <summary>Raw bytes as they are (no newline added): oversized lines, partial lines, invalid UTF-8.</summary>
    public async Task SendBytesAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
            await _stream.FlushAsync();
        }
        finally { _writeLock.Release(); }
    }

    /// <summary>Every event until the server closes the connection (throws on timeout).</summary>
    public async Task<List<Event>> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var list = new List<Event>();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"connection still open; received so far:\n{Dump(list)}");
            try { list.Add(await ReadAsync(left)); }
            catch (EndOfStreamException) { return list; }
        }
    }

    /// <summary>The next event; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>, and
    /// <see cref="EndOfStreamException"/> when the server closed the connection.</summary>
    public async Task<Event> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            if (await _events.Reader.WaitToReadAsync(cts.Token) && _events.Reader.TryRead(out var evt)) return evt;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no event within {(timeout ?? DefaultTimeout).TotalSeconds}s; received so far:\n{Dump()}");
        }
        throw new EndOfStreamException($"connection closed; received so far:\n{Dump()}");
    }

    /// <summary>Reads events until one matches; returns every event read in this call, the match last.</summary>
    public async Task<List<Event>> CollectUntilAsync(Func<Event, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        var seen = new List<Event>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no matching event in time; read in this call:\n{Dump(seen)}");
            var evt = await ReadAsync(left);
            seen.Add(evt);
            if (predicate(evt)) return seen;
        }
    }

    /// <summary>Reads until an event matches and returns it.</summary>
    public async Task<Event> ReadUntilAsync(Func<Event, bool> predicate, TimeSpan? timeout = null) =>
        (await CollectUntilAsync(predicate, timeout))[^1];

    public async Task<T> ReadUntilAsync<T>(Func<T, bool>? predicate = null, TimeSpan? timeout = null) where T : Event =>
        (T)await ReadUntilAsync(e => e is T t && (predicate is null || predicate(t)), timeout);

    /// <summary>Events that arrive within <paramref name="window"/> (for "nothing happens" checks).</summary>
    public async Task<List<Event>> DrainAsync(TimeSpan window)
    {
        var list = new List<Event>();
        var deadline = DateTime.UtcNow + window;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return list;
            try { list.Add(await ReadAsync(left)); }
            catch (TimeoutException) { return list; }
            catch (EndOfStreamException) { return list; }
        }
    }

    /// <summary>Sends `attach` and reads up to the snapshot (alerts before it are skipped). Throws on an error.</summary>
    public async Task<SnapshotEvent> AttachAsync(string worker, CreateSpec? create = null, TimeSpan? timeout = null)
    {
        await SendAsync(new AttachMethod(worker, create));
        var evt = await ReadUntilAsync(e => e is SnapshotEvent or ErrorEvent, timeout ?? TimeSpan.FromSeconds(30));
        return evt as SnapshotEvent
               ?? throw new InvalidOperationException($"attach to `{worker}` failed: {((ErrorEvent)evt).Code}: {((ErrorEvent)evt).Message}");
    }

    public static string Dump(IEnumerable<Event> events) => string.Join("\n", events.Select(e =>
    {
        try { return e.Encode(); } catch { return e.ToString(); }
    }));

    private string Dump() => Dump(Received);

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch { }
        _stream.Dispose();
        try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
        _writeLock.Dispose();
    }
}
