using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>One HTTP request as <see cref="LlmStub"/> received it.</summary>
public sealed record LlmStubRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonObject Json => (JsonObject)JsonNode.Parse(Body)!;

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>A loopback HTTP/1.1 LLM stub for black-box runs: answers each request with the next queued SSE body
/// (200, text/event-stream, body ended by closing the connection) and records the request.</summary>
public sealed class LlmStub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _bodies = new();
    private readonly List<LlmStubRequest> _requests = [];
    private readonly Task _accept;

    public LlmStub(params string[] sseBodies)
    {
        foreach (var b in sseBodies) _bodies.Enqueue(b);
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyList<LlmStubRequest> Requests { get { lock (_requests) return _requests.ToArray(); } }

    /// <summary>../shared/fixtures beside the folder that holds Yoi.Actors.sln.</summary>
    public static string Fixture(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Yoi.Actors.sln")))
                return File.ReadAllText(Path.Combine(dir.FullName, "..", "shared", "fixtures", relative));
        throw new DirectoryNotFoundException("Yoi.Actors.sln not found above " + AppContext.BaseDirectory);
    }

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
        try
        {
            var stream = client.GetStream();
            var head = new List<byte>();
            var one = new byte[1];
            while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                if (await stream.ReadAsync(one) == 0) return;
                head.Add(one[0]);
            }
            var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2))
                .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
            var body = new byte[headers.TryGetValue("content-length", out var cl) ? int.Parse(cl) : 0];
            for (var read = 0; read < body.Length;)
            {
                var k = await stream.ReadAsync(body.AsMemory(read));
                if (k == 0) break;
                read += k;
            }
            var parts = lines[0].Split(' ');
            lock (_requests) _requests.Add(new LlmStubRequest(parts[0], parts[1], headers, Encoding.UTF8.GetString(body)));

            if (!_bodies.TryDequeue(out var sse))
            {
                var error = "{\"error\":{\"message\":\"stub: no response left\",\"type\":\"invalid_request_error\"}}";
                await stream.WriteAsync(Encoding.UTF8.GetBytes(
                    $"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(error)}\r\nConnection: close\r\n\r\n{error}"));
                return;
            }
            await stream.WriteAsync(Encoding.UTF8.GetBytes(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + sse));
            await stream.FlushAsync();
            client.Client.Shutdown(SocketShutdown.Send);
        }
        catch
        {
            // client went away
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accept; } catch { }
        _stop.Dispose();
    }
}
