using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>`yoi serve --listen … --max-connections 6 --max-unauthenticated-per-address 2`.</summary>
public sealed class CapsFixture : IAsyncLifetime
{
    public const string Token = "caps-token";
    public const int MaxConnections = 6;
    public const int MaxUnauthenticated = 2;

    public TempDir Dir { get; } = new("yoi-caps");
    public YoiServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await YoiServer.StartAsync(Dir.Path,
        new Dictionary<string, string> { ["YOI_TOKEN"] = Token },
        "--listen", "127.0.0.1:0", "--max-connections", MaxConnections.ToString(),
        "--max-unauthenticated-per-address", MaxUnauthenticated.ToString());

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>The node's connection caps over real sockets: refused peers get one error line and are closed, while
/// connected clients keep working. Each cap has its own class and so its own node: a node releases a closed
/// connection's slot asynchronously, so the node cap's connections must not still count in the per-address test.</summary>
public abstract class ConnectionCapsTestBase(CapsFixture fixture)
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    protected YoiServer Server => fixture.Server;

    protected static async Task AssertServesAsync(WireClient client)
    {
        await client.SendAsync(new ClusterShowMethod());
        await client.ReadUntilAsync<ClusterStateEvent>(timeout: Timeout);
    }

    protected async Task<WireClient> HelloAsync(WireClient? client = null)
    {
        client ??= await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        await client.SendAsync(new HelloMethod(CapsFixture.Token));
        await AssertServesAsync(client);
        return client;
    }

    /// <summary>Sends a host query: the reply (admitted) or the refusal error (refused, then closed).</summary>
    protected static async Task<Event> ProbeAsync(WireClient client)
    {
        try { await client.SendAsync(new ClusterShowMethod()); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { }
        return await client.ReadUntilAsync(e => e is ClusterStateEvent or ErrorEvent, Timeout);
    }
}

public sealed class UnauthenticatedConnectionCapTests(CapsFixture fixture) : ConnectionCapsTestBase(fixture), IClassFixture<CapsFixture>
{
    [Fact(Timeout = 90_000)]
    public async Task Unauthenticated_connections_over_the_per_address_cap_are_refused_and_authenticated_ones_keep_working()
    {
        await using var authenticated = await HelloAsync();
        await using var idle1 = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        await using var idle2 = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);

        await using var refused = await WireClient.ConnectTcpAsync(Server.TcpEndPoint!);
        var error = Assert.IsType<ErrorEvent>(Assert.Single(await refused.ReadToEndAsync(Timeout)));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Equal($"too many unauthenticated connections from 127.0.0.1: at most {CapsFixture.MaxUnauthenticated}", error.Message);

        await AssertServesAsync(authenticated);
        await using (var unix = await WireClient.ConnectAsync(Server.SocketPath)) await AssertServesAsync(unix);

        // Once one of them authenticates, it no longer counts against its address: a new peer gets in.
        await HelloAsync(idle1);
        await using var next = await HelloAsync();
    }

}

public sealed class ConnectionCapsTests(CapsFixture fixture) : ConnectionCapsTestBase(fixture), IClassFixture<CapsFixture>
{
    [Fact(Timeout = 90_000)]
    public async Task Connections_over_the_node_cap_are_refused_and_open_ones_keep_working()
    {
        var admitted = new List<WireClient>();
        WireClient? refused = null;
        ErrorEvent? refusal = null;
        try
        {
            for (var i = 0; i <= CapsFixture.MaxConnections + 2 && refusal is null; i++)
            {
                var client = await WireClient.ConnectAsync(Server.SocketPath);
                if (await ProbeAsync(client) is ErrorEvent e) (refused, refusal) = (client, e);
                else admitted.Add(client);
            }

            Assert.NotNull(refusal);
            Assert.Equal(ErrorCode.InvalidRequest, refusal.Code);
            Assert.Equal($"too many connections: the node accepts at most {CapsFixture.MaxConnections}", refusal.Message);
            Assert.InRange(admitted.Count, 1, CapsFixture.MaxConnections);
            Assert.Empty(await refused!.ReadToEndAsync(Timeout)); // then closed: nothing after the error
            foreach (var client in admitted) await AssertServesAsync(client);

            // A slot that frees up is taken by the next peer.
            await admitted[0].DisposeAsync();
            admitted.RemoveAt(0);
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                var client = await WireClient.ConnectAsync(Server.SocketPath);
                if (await ProbeAsync(client) is ClusterStateEvent) { admitted.Add(client); break; }
                await client.DisposeAsync();
                Assert.True(DateTime.UtcNow < deadline, "the freed slot was never given to a new connection");
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var client in admitted) await client.DisposeAsync();
            if (refused is not null) await refused.DisposeAsync();
        }
    }
}
