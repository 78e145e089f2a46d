using System.Net;
using System.Text;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests.Http;

/// <summary>`yoi serve --http … --max-line-bytes 100000 --hello-timeout 3 --max-unauthenticated-per-address 4` with
/// `$YOI_TOKEN`, shared by <see cref="WebSocketTests"/>.</summary>
public sealed class WsNode : IAsyncLifetime
{
    public const string Token = "ws-token-9c2";
    public const int MaxLine = 100_000;
    public const int HelloTimeoutSeconds = 3;
    public const int MaxAnonymous = 4;

    public TempDir Dir { get; } = new("yoi-ws");
    public YoiServer Server { get; private set; } = null!;
    public int Port { get; } = HttpNode.FreePort();
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public async ValueTask InitializeAsync() => Server = await YoiServer.StartAsync(Dir.Path,
        new Dictionary<string, string> { ["YOI_TOKEN"] = Token },
        "--http", $"127.0.0.1:{Port}", "--max-line-bytes", MaxLine.ToString(), "--hello-timeout", HelloTimeoutSeconds.ToString(),
        "--max-unauthenticated-per-address", MaxAnonymous.ToString());

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>`/api/ws` over a real <see cref="System.Net.WebSockets.ClientWebSocket"/> against a real node: the socket's
/// JSON Lines protocol, one message per line, with the socket endpoint's authentication and limits.</summary>
public sealed class WebSocketTests(WsNode node) : IClassFixture<WsNode>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static Method Run(string text) => new RunMethod([new TextSegment(text)]);

    private CreateSpec Create(string worker, params string[] responses) => new(ManifestToml: Scripted.Manifest(node.Dir, worker, responses));

    [Fact(Timeout = 90_000)]
    public async Task With_the_bearer_header_a_client_attaches_runs_and_receives_the_events()
    {
        await using var ws = await WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token);
        await ws.SendAsync(new AttachMethod("ws-run", Create("ws-run", Scripted.Text("Hel", "lo ", "web"))));
        var snapshot = await ws.ReadUntilAsync<SnapshotEvent>(timeout: Timeout);
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);

        await ws.SendAsync(Run("hi"));
        var events = await ws.CollectUntilAsync(e => e is RunEndEvent, Timeout);

        Assert.Equal("Hello web", string.Concat(events.OfType<TextDeltaEvent>().Select(d => d.Text)));
        Assert.Contains(events, e => e is StatusEvent { Status: WorkerStatus.Running });
        Assert.IsType<RunEndEvent>(events[^1]);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_browser_without_the_header_authenticates_with_a_first_hello_message()
    {
        await using var ws = await WsClient.ConnectAsync(node.BaseUrl, origin: node.BaseUrl);
        await ws.SendAsync(new HelloMethod(WsNode.Token));
        await ws.SendAsync(new ClusterShowMethod());
        var cluster = await ws.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
        Assert.NotEmpty(cluster.Members);
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_a_token_the_first_message_is_refused_and_the_connection_closed()
    {
        await using var ws = await WsClient.ConnectAsync(node.BaseUrl);
        await ws.SendAsync(new ClusterShowMethod());

        var error = Assert.IsType<ErrorEvent>(Assert.Single(await ws.ReadToEndAsync(Timeout)));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Equal("invalid or missing token", error.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_wrong_bearer_header_is_401_before_the_upgrade_and_a_cross_origin_page_403()
    {
        var wrong = await Assert.ThrowsAsync<WsRefusedException>(() => WsClient.ConnectAsync(node.BaseUrl, bearer: "not-the-token"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        var foreign = await Assert.ThrowsAsync<WsRefusedException>(() => WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token, origin: "http://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_hello_within_the_deadline_the_connection_gets_an_error_and_is_closed()
    {
        await using var ws = await WsClient.ConnectAsync(node.BaseUrl);
        var events = await ws.ReadToEndAsync(TimeSpan.FromSeconds(WsNode.HelloTimeoutSeconds + 20));
        var error = Assert.IsType<ErrorEvent>(Assert.Single(events));
        Assert.Equal($"no valid `hello` within {WsNode.HelloTimeoutSeconds} s", error.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_oversize_message_gets_one_error_and_closes_that_client_while_another_keeps_running()
    {
        await using var other = await WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token);
        await other.SendAsync(new AttachMethod("ws-busy", Create("ws-busy", EventStreamSlow("first", "second", 1500))));
        await other.ReadUntilAsync<SnapshotEvent>(timeout: Timeout);
        await other.SendAsync(Run("go"));
        await other.ReadUntilAsync<TextDeltaEvent>(timeout: Timeout);

        await using var big = await WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token);
        await big.SendBytesAsync(JsonMessage(WsNode.MaxLine + 1), frame: 16 * 1024);
        var error = Assert.IsType<ErrorEvent>(Assert.Single(await big.ReadToEndAsync(Timeout)));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Equal($"line exceeds {WsNode.MaxLine} bytes", error.Message);

        var rest = await other.CollectUntilAsync(e => e is RunEndEvent, Timeout);
        Assert.Contains("second", string.Concat(rest.OfType<TextDeltaEvent>().Select(d => d.Text)));
        // Within the limit is fine: decoded (an unknown method), and the connection stays open.
        await other.SendBytesAsync(JsonMessage(WsNode.MaxLine - 10));
        var invalid = await other.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.DoesNotContain("line exceeds", invalid.Message);
        await other.SendAsync(new ClusterShowMethod());
        await other.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
    }

    [Fact(Timeout = 90_000)]
    public async Task Anonymous_upgrades_over_the_per_address_cap_are_503_and_every_refusal_is_counted()
    {
        var anonymous = new List<WsClient>();
        try
        {
            for (var i = 0; i < WsNode.MaxAnonymous; i++) anonymous.Add(await WsClient.ConnectAsync(node.BaseUrl));
            var refused = await Assert.ThrowsAsync<WsRefusedException>(() => WsClient.ConnectAsync(node.BaseUrl));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
            // An authenticated client does not count against the address.
            await using var authenticated = await WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token);
        }
        finally
        {
            foreach (var c in anonymous) await c.DisposeAsync();
        }
        await using (var big = await WsClient.ConnectAsync(node.BaseUrl, bearer: WsNode.Token))
        {
            await big.SendBytesAsync(JsonMessage(WsNode.MaxLine + 1));
            await big.ReadToEndAsync(Timeout);
        }
        await using (var silent = await WsClient.ConnectAsync(node.BaseUrl))
            await silent.ReadToEndAsync(TimeSpan.FromSeconds(WsNode.HelloTimeoutSeconds + 20));

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", WsNode.Token);
        var metrics = await http.GetStringAsync(node.BaseUrl + "/metrics");
        var lines = metrics.Split('\n').Where(l => l.StartsWith("yoi_endpoint_rejections_total{") && l.Contains("yoi_endpoint=\"ws\"")).ToList();
        Assert.Contains(lines, l => l.Contains("yoi_reason=\"connection_cap\""));
        Assert.Contains(lines, l => l.Contains("yoi_reason=\"line_too_long\""));
        Assert.Contains(lines, l => l.Contains("yoi_reason=\"hello_timeout\""));
    }

    /// <summary>Valid JSON of exactly <paramref name="length"/> bytes that is no method.</summary>
    private static byte[] JsonMessage(int length)
    {
        const string head = "{\"method\":\"x\",\"pad\":\"";
        const string tail = "\"}";
        return Encoding.ASCII.GetBytes(new StringBuilder(length).Append(head).Append('a', length - head.Length - tail.Length).Append(tail).ToString());
    }

    private static string EventStreamSlow(string first, string second, int delayMs) => new System.Text.Json.Nodes.JsonObject
    {
        ["items"] = new System.Text.Json.Nodes.JsonArray(
            new System.Text.Json.Nodes.JsonObject { ["text"] = first },
            new System.Text.Json.Nodes.JsonObject { ["delay_ms"] = delayMs },
            new System.Text.Json.Nodes.JsonObject { ["text"] = second }),
    }.ToJsonString();
}
