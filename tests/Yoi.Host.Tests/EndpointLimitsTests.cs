using System.Text;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>`yoi serve --listen … --max-line-bytes 100000 --hello-timeout 2`, shared by <see cref="EndpointLimitsTests"/>.</summary>
public sealed class LimitsFixture : IAsyncLifetime
{
    public const string Token = "limits-token";
    public const int MaxLine = 100_000;
    public const int MaxHelloLine = 64 * 1024;

    public TempDir Dir { get; } = new("yoi-limits");
    public YoiServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await YoiServer.StartAsync(Dir.Path,
        new Dictionary<string, string> { ["YOI_TOKEN"] = Token },
        "--listen", "127.0.0.1:0", "--max-line-bytes", MaxLine.ToString(), "--hello-timeout", "2");

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>Line limits and the `hello` deadline, over the real Unix socket and TCP endpoint of a `yoi serve` process.</summary>
public sealed class EndpointLimitsTests(LimitsFixture fixture) : IClassFixture<LimitsFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private YoiServer Server => fixture.Server;

    /// <summary>A line of <paramref name="length"/> bytes that is valid JSON but no method, so a line within the
    /// limit gets "invalid method" while one over it gets "line exceeds".</summary>
    private static byte[] JsonLine(int length, bool newline = true)
    {
        const string head = "{\"method\":\"x\",\"pad\":\"";
        const string tail = "\"}";
        var sb = new StringBuilder(length + 1).Append(head).Append('a', length - head.Length - tail.Length).Append(tail);
        if (newline) sb.Append('\n');
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private async Task<WireClient> HelloAsync()
    {
        var client = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        await client.SendAsync(new HelloMethod(LimitsFixture.Token));
        return client;
    }

    private static void AssertSingleLimitError(List<Event> events, int limit)
    {
        var error = Assert.IsType<ErrorEvent>(Assert.Single(events));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Equal($"line exceeds {limit} bytes", error.Message);
    }

    /// <summary>The node still serves: a fresh Unix-socket client gets its host query answered.</summary>
    private async Task AssertNodeServesAsync()
    {
        await using var probe = await WireClient.ConnectAsync(Server.SocketPath);
        await probe.SendAsync(new ClusterShowMethod());
        await probe.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_line_over_the_limit_on_the_unix_socket_gets_one_error_and_the_connection_is_closed()
    {
        await using var client = await WireClient.ConnectAsync(Server.SocketPath);
        await client.SendBytesAsync(JsonLine(LimitsFixture.MaxLine + 1));

        AssertSingleLimitError(await client.ReadToEndAsync(Timeout), LimitsFixture.MaxLine);
        await AssertNodeServesAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_line_within_the_limit_is_decoded_and_the_connection_stays_open()
    {
        await using var client = await WireClient.ConnectAsync(Server.SocketPath);
        await client.SendBytesAsync(JsonLine(LimitsFixture.MaxLine));

        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.StartsWith("invalid method:", error.Message);
        await client.SendAsync(new ClusterShowMethod());
        await client.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_huge_line_without_newline_is_cut_at_the_limit_while_the_peer_is_still_sending()
    {
        await using var client = await WireClient.ConnectAsync(Server.SocketPath);
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'a');
        var sending = Task.Run(async () =>
        {
            try { for (var i = 0; i < 256; i++) await client.SendBytesAsync(chunk); } // 16 MiB, never a newline
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
        });

        AssertSingleLimitError(await client.ReadToEndAsync(Timeout), LimitsFixture.MaxLine);
        await sending.WaitAsync(Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Before_hello_on_tcp_a_line_over_64_KiB_gets_one_error_and_the_connection_is_closed()
    {
        await using var client = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        await client.SendBytesAsync(JsonLine(LimitsFixture.MaxHelloLine + 1));

        AssertSingleLimitError(await client.ReadToEndAsync(Timeout), LimitsFixture.MaxHelloLine);
    }

    [Fact(Timeout = 60_000)]
    public async Task After_hello_on_tcp_the_attached_limit_applies()
    {
        await using var client = await HelloAsync();
        await client.SendBytesAsync(JsonLine(LimitsFixture.MaxHelloLine + 1));
        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.StartsWith("invalid method:", error.Message);

        await client.SendBytesAsync(JsonLine(LimitsFixture.MaxLine + 1));
        AssertSingleLimitError(await client.ReadToEndAsync(Timeout), LimitsFixture.MaxLine);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_tcp_connection_that_sends_nothing_is_closed_at_the_hello_deadline()
    {
        await using var client = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        var started = DateTime.UtcNow;

        var events = await client.ReadToEndAsync(Timeout);

        var error = Assert.IsType<ErrorEvent>(Assert.Single(events));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Equal("no valid `hello` within 2 s", error.Message);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1.5), "closed before the deadline");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_tcp_connection_trickling_a_hello_line_is_closed_at_the_deadline()
    {
        await using var client = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        var trickle = Task.Run(async () =>
        {
            try
            {
                foreach (var b in Encoding.ASCII.GetBytes("{\"method\":\"hello\",\"params\":{\"token\":\"" + LimitsFixture.Token))
                {
                    await client.SendBytesAsync(new[] { b });
                    await Task.Delay(100);
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
        });

        var error = Assert.IsType<ErrorEvent>(Assert.Single(await client.ReadToEndAsync(Timeout)));
        Assert.Equal("no valid `hello` within 2 s", error.Message);
        await trickle.WaitAsync(Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_tcp_connection_with_a_valid_hello_outlives_the_deadline()
    {
        await using var client = await HelloAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));

        await client.SendAsync(new ClusterShowMethod());
        await client.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
    }
}
