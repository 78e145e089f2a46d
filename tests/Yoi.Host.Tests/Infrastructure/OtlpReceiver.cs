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

/// <summary>One exported span as the receiver got it: ids in lowercase hex (the parent's is "" for a root span),
/// string / int / bool / double / string-array attribute values.</summary>
public sealed record OtlpSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, object> Attributes)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);
}

public static class OtlpSpans
{
    private static IEnumerable<byte[]> Sub(byte[] message, int field) =>
        Otlp.Fields(message).Where(f => f.Field == field && f.Bytes is not null).Select(f => f.Bytes!);

    private static string Str(byte[] message, int field) => Sub(message, field).Select(b => Encoding.UTF8.GetString(b)).FirstOrDefault() ?? "";

    /// <summary>AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5 (ArrayValue.values 1).</summary>
    private static object Value(byte[] any)
    {
        foreach (var (field, _, varint, bytes) in Otlp.Fields(any))
            switch (field)
            {
                case 1: return Encoding.UTF8.GetString(bytes!);
                case 2: return varint != 0;
                case 3: return varint;
                case 4: return BitConverter.Int64BitsToDouble(varint);
                case 5: return Sub(bytes!, 1).Select(v => Value(v).ToString()!).ToArray();
            }
        return "";
    }

    private static Dictionary<string, object> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var kv in Sub(message, field))
            attributes[Str(kv, 1)] = Sub(kv, 2).Select(Value).FirstOrDefault() ?? "";
        return attributes;
    }

    /// <summary>Every span of an ExportTraceServiceRequest (ResourceSpans 1 → Resource 1 / ScopeSpans 2 → Span 2; Span:
    /// trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, attributes 9).</summary>
    public static IEnumerable<OtlpSpan> Parse(byte[] request) =>
        Sub(request, 1).SelectMany(resourceSpans =>
        {
            var resource = Sub(resourceSpans, 1).Select(r => Attributes(r, 1)).FirstOrDefault() ?? [];
            var service = resource.GetValueOrDefault("service.name") as string ?? "";
            return Sub(resourceSpans, 2).SelectMany(scopeSpans => Sub(scopeSpans, 2)).Select(span =>
            {
                var fields = Otlp.Fields(span).ToList();
                string Hex(int f) => fields.Where(x => x.Field == f && x.Bytes is not null).Select(x => Convert.ToHexStringLower(x.Bytes!)).FirstOrDefault() ?? "";
                var kind = (int)fields.Where(x => x.Field == 6).Select(x => x.Varint).FirstOrDefault();
                return new OtlpSpan(service, Hex(1), Hex(2), Hex(4), Str(span, 5), kind, Attributes(span, 9));
            });
        });

    /// <summary>Every span the receiver has got so far.</summary>
    public static List<OtlpSpan> Spans(this OtlpReceiver receiver) => receiver.Bodies("/v1/traces").SelectMany(Parse).ToList();
}
