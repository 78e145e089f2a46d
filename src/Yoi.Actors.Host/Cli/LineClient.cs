using System.Net.Sockets;
using System.Text;
using Yoi.Actors.Host.Endpoint;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>A JSON Lines client of the node endpoint (Unix socket).</summary>
public sealed class LineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private LineClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        var utf8 = new UTF8Encoding(false);
        _reader = new StreamReader(_stream, utf8, false, 8192, leaveOpen: true);
        _writer = new StreamWriter(_stream, utf8, 8192, leaveOpen: true) { NewLine = "\n", AutoFlush = false };
    }

    /// <summary>null when nothing listens on <paramref name="socketPath"/>.</summary>
    public static async Task<LineClient?> TryConnectAsync(string socketPath, CancellationToken ct)
    {
        if (!File.Exists(socketPath)) return null;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
            return new LineClient(socket);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    public async Task SendAsync(Method method, CancellationToken ct)
    {
        await _writer.WriteLineAsync(Wire.Encode(method).AsMemory(), ct);
        await _writer.FlushAsync(ct);
    }

    /// <summary>The next event; null at end of stream.</summary>
    public async Task<Event?> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            string? line;
            try { line = await _reader.ReadLineAsync(ct); }
            catch (IOException) { return null; }
            if (line is null) return null;
            line = line.Trim();
            if (line.Length == 0) continue;
            return Wire.DecodeEvent(line);
        }
    }

    public ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch { }
        _reader.Dispose();
        _writer.Dispose();
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
