using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests.Http;

/// <summary>One real `yoi serve --http 127.0.0.1:PORT` with `$YOI_TOKEN` set, shared by a test class.</summary>
public sealed class HttpNode : IAsyncLifetime
{
    public const string Token = "http-api-token-5e1";

    public TempDir Dir { get; } = new("yoi-http");
    public YoiServer Server { get; private set; } = null!;
    public int Port { get; } = FreePort();
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public async ValueTask InitializeAsync() =>
        Server = await YoiServer.StartAsync(Dir.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = Token }, "--http", $"127.0.0.1:{Port}");

    public HttpClient Client(string? token = Token)
    {
        var c = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Dir.Dispose();
    }

    public static int FreePort() => LoopbackPort.Free();
}

public static class HttpApiClient
{
    public static async Task<HttpResponseMessage> CreateWorkerAsync(this HttpClient http, string name, string manifestToml) =>
        await http.PutAsync($"/api/workers/{name}", new StringContent(manifestToml, Encoding.UTF8, "application/toml"));

    public static Task<HttpResponseMessage> RunAsync(this HttpClient http, string name, string text) =>
        http.PostAsync($"/api/workers/{name}/runs", Json(new JsonObject { ["input"] = new JsonArray(new JsonObject { ["kind"] = "text", ["content"] = text }) }));

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("empty body");

    public static async Task<JsonNode> GetJsonAsync(this HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new HttpRequestException($"GET {path}: {(int)r.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Polls `GET /api/workers/{name}` until its status is <paramref name="status"/>.</summary>
    public static async Task WaitForStatusAsync(this HttpClient http, string name, string status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var w = await http.GetJsonAsync($"/api/workers/{name}");
            if (w["status"]?.GetValue<string>() == status) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} is {w["status"]}, not {status}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every committed record of the Worker through the paged entries endpoint.</summary>
    public static async Task<List<JsonNode>> AllRecordsAsync(this HttpClient http, string name, int limit = 1000)
    {
        var all = new List<JsonNode>();
        long after = 0;
        while (true)
        {
            var page = await http.GetJsonAsync($"/api/workers/{name}/entries?after={after}&limit={limit}");
            all.AddRange(page["records"]!.AsArray().Select(r => r!.DeepClone()));
            after = page["next_after"]!.GetValue<long>();
            if (!page["has_more"]!.GetValue<bool>()) return all;
        }
    }
}

/// <summary>A minimal Server-Sent Events reader over a real HTTP response (id / event / data fields).</summary>
public sealed class SseReader : IAsyncDisposable
{
    public sealed record Message(string? Id, string Event, JsonNode Data);

    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseMessage Response => _response;

    public static async Task<SseReader> OpenAsync(HttpClient http, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next message, or null at the end of the stream.</summary>
    public async Task<Message?> ReadAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        string? id = null, name = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (data.Length == 0) { id = null; name = null; continue; }
                return new Message(id, name ?? "message", JsonNode.Parse(data.ToString())!);
            }
            if (line.StartsWith(':')) continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data.Append(value); break;
            }
        }
    }

    public async Task<Message> ReadUntilAsync(Func<Message, bool> match, TimeSpan timeout, List<Message>? seen = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException("no matching SSE message");
            var m = await ReadAsync(left) ?? throw new InvalidOperationException("the stream ended");
            seen?.Add(m);
            if (match(m)) return m;
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
