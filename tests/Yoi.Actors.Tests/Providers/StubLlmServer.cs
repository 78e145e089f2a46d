using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Yoi.Actors.Tests.Providers;

/// <summary>One HTTP request as the stub received it.</summary>
internal sealed record StubRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonObject Json => (JsonObject)JsonNode.Parse(Body)!;

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>What the stub answers one request with.</summary>
internal abstract record StubResponse
{
    /// <summary>200 text/event-stream; the body is written and the connection closed (no Content-Length, so the
    /// body ends at the close — a body cut inside a frame is a clean EOF mid-frame).</summary>
    public sealed record Sse(string Body) : StubResponse;

    /// <summary>An error status with a JSON body and extra headers (e.g. Retry-After).</summary>
    public sealed record Error(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null) : StubResponse;

    /// <summary>200 chunked: <paramref name="Body"/> as one chunk, then the socket is closed without the final
    /// chunk — a transport failure (HttpClient: "response ended prematurely").</summary>
    public sealed record ChunkedAbort(string Body) : StubResponse;

    /// <summary>200 text/event-stream: writes <paramref name="Prefix"/>, then holds the connection open until the
    /// client goes away (or the server is disposed).</summary>
    public sealed record Hang(string Prefix) : StubResponse;

    public static StubResponse FromFixture(string relative, IReadOnlyDictionary<string, string>? headers = null)
    {
        var body = Fixtures.Read(relative);
        if (relative.EndsWith(".sse", StringComparison.Ordinal)) return new Sse(body);
        var name = Path.GetFileNameWithoutExtension(relative); // error_429 / error_400_context_length
        var status = int.Parse(name.Split('_')[1]);
        return new Error(status, body, headers);
    }
}

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1 (TcpListener): records every request body and answers from a
/// queue of <see cref="StubResponse"/>s (the last one repeats). One request per connection (Connection: close).</summary>
internal sealed class StubLlmServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<StubResponse> _responses = new();
    private readonly List<StubRequest> _requests = [];
    private readonly Task _accept;
    private StubResponse? _last;

    public StubLlmServer(params StubResponse[] responses)
    {
        foreach (var r in responses) _responses.Enqueue(r);
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public IReadOnlyList<StubRequest> Requests { get { lock (_requests) return _requests.ToArray(); } }

    /// <summary>Raised when a Hang response has written its prefix (for cancel tests).</summary>
    public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Enqueue(params StubResponse[] responses)
    {
        foreach (var r in responses) _responses.Enqueue(r);
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
            var request = await ReadRequestAsync(stream);
            if (request is null) return;
            lock (_requests) _requests.Add(request);
            var response = _responses.TryDequeue(out var r) ? _last = r : _last ?? new StubResponse.Error(500, "{\"error\":{\"message\":\"stub: no response\"}}");
            await WriteAsync(stream, client, response);
        }
        catch
        {
            // the client went away
        }
    }

    private static async Task<StubRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            buffer.Add(one[0]);
            var n = buffer.Count;
            if (n >= 4 && buffer[n - 4] == '\r' && buffer[n - 3] == '\n' && buffer[n - 2] == '\r' && buffer[n - 1] == '\n') break;
        }
        var head = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = head[0].Split(' ');
        var headers = new Dictionary<string, string>();
        foreach (var line in head.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        var length = headers.TryGetValue("content-length", out var cl) ? int.Parse(cl) : 0;
        var body = new byte[length];
        var read = 0;
        while (read < length)
        {
            var k = await stream.ReadAsync(body.AsMemory(read));
            if (k == 0) break;
            read += k;
        }
        return new StubRequest(requestLine[0], requestLine[1], headers, Encoding.UTF8.GetString(body, 0, read));
    }

    private async Task WriteAsync(NetworkStream stream, TcpClient client, StubResponse response)
    {
        async Task Raw(string s)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(s));
            await stream.FlushAsync();
        }

        switch (response)
        {
            case StubResponse.Sse sse:
                await Raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
                await Raw(sse.Body);
                client.Client.Shutdown(SocketShutdown.Send);
                break;
            case StubResponse.Error e:
                var bytes = Encoding.UTF8.GetBytes(e.Body);
                var extra = string.Concat((e.Headers ?? new Dictionary<string, string>()).Select(h => $"{h.Key}: {h.Value}\r\n"));
                await Raw($"HTTP/1.1 {e.Status} Status\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\n{extra}Connection: close\r\n\r\n");
                await stream.WriteAsync(bytes);
                client.Client.Shutdown(SocketShutdown.Send);
                break;
            case StubResponse.ChunkedAbort c:
                var chunk = Encoding.UTF8.GetBytes(c.Body);
                await Raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                await Raw($"{chunk.Length:x}\r\n");
                await stream.WriteAsync(chunk);
                await Raw("\r\n");
                client.Client.LingerState = new LingerOption(true, 0); // RST: no terminating chunk
                client.Client.Close();
                break;
            case StubResponse.Hang h:
                await Raw("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
                await Raw(h.Prefix);
                Hanging.TrySetResult();
                var sink = new byte[256];
                try
                {
                    while (await stream.ReadAsync(sink, _stop.Token) > 0) { }
                }
                catch
                {
                    // disposed or reset
                }
                break;
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

/// <summary>The shared wire fixtures: <c>../shared/fixtures</c> beside the repository root (the folder holding
/// Yoi.Actors.sln, found by walking up from the test binaries).</summary>
internal static class Fixtures
{
    public static string Root { get; } = Locate();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Yoi.Actors.sln")))
            {
                var fixtures = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
                if (Directory.Exists(fixtures)) return fixtures;
                throw new DirectoryNotFoundException($"fixtures not found at {fixtures}");
            }
        }
        throw new DirectoryNotFoundException("Yoi.Actors.sln not found above " + AppContext.BaseDirectory);
    }

    public static string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));
}
