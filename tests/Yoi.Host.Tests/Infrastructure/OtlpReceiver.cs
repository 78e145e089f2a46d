using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A loopback OTLP/HTTP receiver (TcpListener, HTTP/1.1): records every POST body by path (/v1/traces,
/// /v1/metrics, /v1/logs) and answers 200 with an empty protobuf body.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public OtlpReceiver()
    {
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public ConcurrentQueue<(string Path, byte[] Body, string Headers)> Requests { get; } = new();

    public IEnumerable<byte[]> Bodies(string path) => Requests.Where(r => r.Path == path).Select(r => r.Body);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            while (true)
            {
                var head = await ReadHeadAsync(stream);
                if (head is null) return;
                var lines = head.Split("\r\n");
                var path = lines[0].Split(' ')[1];
                var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("content-length", StringComparison.OrdinalIgnoreCase))
                    .Select(p => int.Parse(p[1].Trim())).FirstOrDefault();
                var body = new byte[length];
                await stream.ReadExactlyAsync(body, _stop.Token);
                if (lines.Any(l => l.StartsWith("Content-Encoding: gzip", StringComparison.OrdinalIgnoreCase)))
                {
                    using var gz = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
                    using var ms = new MemoryStream();
                    await gz.CopyToAsync(ms);
                    body = ms.ToArray();
                }
                Requests.Enqueue((path, body, head));
                await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"), _stop.Token);
            }
        }
        catch
        {
            // connection closed
        }
    }

    private async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(one, _stop.Token);
            if (n == 0) return null;
            buffer.Add(one[0]);
            if (buffer.Count >= 4 && buffer[^1] == '\n' && buffer[^2] == '\r' && buffer[^3] == '\n' && buffer[^4] == '\r')
                return Encoding.ASCII.GetString(buffer.ToArray(), 0, buffer.Count - 4);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accept; } catch { }
    }
}

/// <summary>Just enough of the protobuf wire format to read OTLP export requests (written by hand: no OTLP message
/// types are served here, and the test needs only resource attributes and span names).</summary>
public static class Otlp
{
    /// <summary>(field number, wire type, value) of one message: varints as long, length-delimited as bytes.</summary>
    public static IEnumerable<(int Field, int Wire, long Varint, byte[]? Bytes)> Fields(byte[] message)
    {
        var i = 0;
        var list = new List<(int, int, long, byte[]?)>();
        while (i < message.Length)
        {
            var key = ReadVarint(message, ref i);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: list.Add((field, wire, ReadVarint(message, ref i), null)); break;
                case 1: list.Add((field, wire, BitConverter.ToInt64(message, i), null)); i += 8; break;
                case 2:
                    var len = (int)ReadVarint(message, ref i);
                    list.Add((field, wire, 0, message[i..(i + len)]));
                    i += len;
                    break;
                case 5: list.Add((field, wire, BitConverter.ToInt32(message, i), null)); i += 4; break;
                default: throw new FormatException($"wire type {wire}");
            }
        }
        return list;
    }

    private static long ReadVarint(byte[] b, ref int i)
    {
        long result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var x = b[i++];
            result |= (long)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) return result;
        }
    }

    private static IEnumerable<byte[]> Sub(byte[] message, int field) => Fields(message).Where(f => f.Field == field && f.Bytes is not null).Select(f => f.Bytes!);

    private static string Str(byte[] message, int field) => Sub(message, field).Select(b => Encoding.UTF8.GetString(b)).FirstOrDefault() ?? "";

    /// <summary>ExportTraceServiceRequest → (resource attributes (string values), span names).</summary>
    public static List<(Dictionary<string, string> Resource, List<string> Spans)> Traces(byte[] request) =>
        Sub(request, 1).Select(resourceSpans =>
        {
            var attributes = Sub(resourceSpans, 1).SelectMany(resource => Sub(resource, 1))
                .ToDictionary(kv => Str(kv, 1), kv => Sub(kv, 2).Select(v => Str(v, 1)).FirstOrDefault() ?? "");
            var spans = Sub(resourceSpans, 2).SelectMany(scopeSpans => Sub(scopeSpans, 2)).Select(span => Str(span, 5)).ToList();
            return (attributes, spans);
        }).ToList();
}
