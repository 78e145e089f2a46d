using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Host.Endpoint;

public sealed record EndpointOptions
{
    /// <summary>`DIR/run/yoi.sock`.</summary>
    public required string SocketPath { get; init; }

    /// <summary>Optional TCP endpoint `HOST:PORT` (first line must be `hello` with <see cref="Token"/>).</summary>
    public string? Listen { get; init; }

    /// <summary>The shared TCP token (`$YOI_TOKEN`).</summary>
    public string? Token { get; init; }

    /// <summary>Directory that `create.manifest_toml` resolves relative paths against.</summary>
    public string ManifestDir { get; init; } = Environment.CurrentDirectory;

    /// <summary>Line, handshake and connection limits (the defaults are the spec's).</summary>
    public EndpointLimits Limits { get; init; } = new();

    /// <summary>TLS for the TCP endpoint; null: plain TCP.</summary>
    public TlsOptions? Tls { get; init; }

    /// <summary>Called once every listener is bound (serve prints the "yoi node up" line).</summary>
    public Action<ClientEndpoint>? OnReady { get; init; }
}

/// <summary>The node's client endpoint: a Unix socket (mode 0600) and optionally a token-guarded TCP listener,
/// JSON Lines framing, one <see cref="ClientConnection"/> + <see cref="ConnectionActor"/> per client. Every accepted
/// socket passes the node's <see cref="ConnectionGate"/> first; TCP may be TLS.</summary>
public sealed class ClientEndpoint : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly EndpointOptions _options;
    private readonly ILogger<ClientEndpoint> _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, (ClientConnection Connection, Task Run)> _connections = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly ConnectionGate _gate;
    private SslServerAuthenticationOptions? _tls;
    private long _lastRefusalLog;
    private ActorSystem? _system;
    private IActorRef? _region;
    private HealthCheckService? _health;
    private Socket? _unix;
    private Socket? _tcp;
    private long _nextId;

    public ClientEndpoint(IServiceProvider services, EndpointOptions options, ILogger<ClientEndpoint> log)
    {
        _services = services;
        _options = options;
        _log = log;
        _gate = new ConnectionGate(options.Limits);
    }

    /// <summary>Connections open right now, over all listeners.</summary>
    public int OpenConnections => _gate.Open;

    public string SocketPath => _options.SocketPath;
    public EndPoint? TcpEndPoint => _tcp?.LocalEndPoint;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var system = _services.GetRequiredService<ActorSystem>();
        var region = await _services.GetRequiredService<IRequiredActor<WorkerRegion>>().GetAsync(cancellationToken);
        if (_options.Limits.Validate() is { } invalid) throw new InvalidOperationException(invalid);
        (_system, _region) = (system, region);
        _health = _services.GetService<HealthCheckService>();
        _tls = _options.Tls?.LoadServer();

        _unix = BindUnix(_options.SocketPath);
        _acceptLoops.Add(AcceptLoopAsync(_unix, system, region, requireHello: false));
        _log.LogInformation("client endpoint listening on {Path}", _options.SocketPath);

        if (_options.Listen is { } listen)
        {
            if (string.IsNullOrEmpty(_options.Token))
                throw new InvalidOperationException("--listen needs $YOI_TOKEN (the token TCP clients send in `hello`)");
            var ep = ParseHostPort(listen);
            _tcp = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _tcp.Bind(ep);
            _tcp.Listen(); // the kernel's maximum backlog: a burst of connects is queued, not refused
            _acceptLoops.Add(AcceptLoopAsync(_tcp, system, region, requireHello: true));
            _log.LogInformation("client endpoint listening on {Scheme} {EndPoint}", _tls is null ? "tcp" : "tcp+tls", _tcp.LocalEndPoint);
        }

        _options.OnReady?.Invoke(this);
    }

    private static Socket BindUnix(string path)
    {
        var dir = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (File.Exists(path))
        {
            if (IsListening(path))
                throw new InvalidOperationException($"another yoi node is already listening on {path}");
            File.Delete(path); // stale socket from a node that died
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(); // same for the Unix socket, where a full backlog fails connect with EAGAIN
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True when something accepts connections on the Unix socket at <paramref name="path"/>.</summary>
    public static bool IsListening(string path)
    {
        if (!File.Exists(path)) return false;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static IPEndPoint ParseHostPort(string hostPort)
    {
        var i = hostPort.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(hostPort[(i + 1)..], out var port))
            throw new ArgumentException($"--listen expects HOST:PORT, got `{hostPort}`");
        var host = hostPort[..i].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var address))
            address = Dns.GetHostAddresses(host).First(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6);
        return new IPEndPoint(address, port);
    }

    private Task AcceptLoopAsync(Socket listener, ActorSystem system, IActorRef region, bool requireHello) => Task.Run(async () =>
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_stopping.Token); }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException ex)
            {
                if (_stopping.IsCancellationRequested) break;
                _log.LogWarning(ex, "accept failed");
                // e.g. out of file descriptors: back off instead of spinning on a listener that fails at once
                try { await Task.Delay(100, _stopping.Token); } catch (OperationCanceledException) { break; }
                continue;
            }

            // TCP peers are anonymous until `hello`: they count against their address. Unix-socket peers passed the
            // socket's file mode (0600) and count only against the node's total.
            ConnectionGate.Admission? admission;
            try
            {
                var remote = requireHello ? (client.RemoteEndPoint as IPEndPoint)?.Address : null;
                admission = _gate.TryAdmit(remote, out var refusal);
                if (admission is null)
                {
                    Yoi.Actors.Telemetry.YoiTelemetry.Rejected(requireHello ? "tcp" : "unix", "connection_cap");
                    Refuse(client, refusal, tls: requireHello && _tls is not null);
                    continue;
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The peer vanished between accept and admission: one bad socket never stops the accept loop.
                client.Dispose();
                continue;
            }

            var id = Interlocked.Increment(ref _nextId).ToString();
            var tls = requireHello ? _tls : null;
            Track(id, Task.Run(() => ServeAsync(client, id, requireHello, tls, admission, system, region)));
        }
    });

    private void Track(string id, Task run)
    {
        Yoi.Actors.Telemetry.YoiTelemetry.ConnectedClients.Add(1);
        _ = run.ContinueWith(_ =>
        {
            Yoi.Actors.Telemetry.YoiTelemetry.ConnectedClients.Add(-1);
            _connections.TryRemove(id, out var _);
        }, TaskScheduler.Default);
    }

    /// <summary>`/api/ws` asks for a slot before it accepts the upgrade: the same node-wide and per-address caps as the
    /// socket listeners (<paramref name="remote"/> null = already authenticated by the bearer header). Null when the
    /// node refuses, with the reason; the caller answers 503 without upgrading.</summary>
    public ConnectionGate.Admission? TryAdmitWebSocket(IPAddress? remote, out string refusal)
    {
        if (_system is null || _stopping.IsCancellationRequested)
        {
            refusal = "the node's client endpoint is not running";
            return null;
        }
        var admission = _gate.TryAdmit(remote, out refusal);
        if (admission is null) Yoi.Actors.Telemetry.YoiTelemetry.Rejected("ws", "connection_cap");
        return admission;
    }

    /// <summary>Serves an accepted WebSocket as one more JSON Lines connection (<see cref="WebSocketLineStream"/>): the
    /// same <see cref="ClientConnection"/> and <see cref="ConnectionActor"/>, limits and `hello` rule as the TCP
    /// listener. Completes when the connection is closed.</summary>
    public async Task ServeWebSocketAsync(System.Net.WebSockets.WebSocket socket, ConnectionGate.Admission admission, bool requireHello)
    {
        var helloDeadline = requireHello ? new CancellationTokenSource(_options.Limits.HelloTimeout) : null;
        var id = "ws" + Interlocked.Increment(ref _nextId);
        var connection = new ClientConnection(null, new WebSocketLineStream(socket), id, requireHello, _options.Limits, admission, helloDeadline, _log, "ws");
        var run = connection.RunAsync(_system!, _region!, _health, _options.Token, _options.ManifestDir);
        _connections[id] = (connection, run);
        Track(id, run);
        if (_stopping.IsCancellationRequested) connection.Abort();
        await run;
    }

    /// <summary>TLS handshake (TCP with TLS only, within the `hello` deadline), then the connection's reader loop.</summary>
    private async Task ServeAsync(Socket client, string id, bool requireHello, SslServerAuthenticationOptions? tls,
        ConnectionGate.Admission admission, ActorSystem system, IActorRef region)
    {
        // The deadline counts from accept: a peer cannot stretch it by stalling the TLS handshake.
        var helloDeadline = requireHello ? new CancellationTokenSource(_options.Limits.HelloTimeout) : null;
        Stream stream = new NetworkStream(client, ownsSocket: false);
        if (tls is not null)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            try
            {
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(helloDeadline!.Token, _stopping.Token);
                await ssl.AuthenticateAsServerAsync(tls, handshake.Token);
            }
            catch (Exception ex)
            {
                // Not TLS, wrong client certificate, or too slow: nothing can be said in a protocol the peer speaks.
                _log.LogDebug("tls handshake with {Remote} failed: {Message}", SafeRemote(client), ex.Message);
                await ssl.DisposeAsync();
                client.Dispose();
                admission.Dispose();
                helloDeadline!.Dispose();
                return;
            }
            stream = ssl;
        }

        var connection = new ClientConnection(client, stream, id, requireHello, _options.Limits, admission, helloDeadline, _log);
        var run = connection.RunAsync(system, region, _health, _options.Token, _options.ManifestDir);
        _connections[id] = (connection, run);
        if (_stopping.IsCancellationRequested) connection.Abort();
        await run;
    }

    /// <summary>Over a cap: one error line (plain endpoints), then close. Written synchronously: a fresh socket's send
    /// buffer always takes one short line. The close waits briefly for the peer's input so it does not reset the line
    /// away. A TLS peer is closed without a line: answering would cost a handshake per refused connection.</summary>
    private void Refuse(Socket client, string reason, bool tls)
    {
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _lastRefusalLog) > 10_000)
        {
            Interlocked.Exchange(ref _lastRefusalLog, now);
            _log.LogWarning("refusing connections: {Reason}", reason);
        }
        if (tls)
        {
            client.Dispose();
            return;
        }
        try
        {
            client.Blocking = false;
            client.Send(Encoding.UTF8.GetBytes(Wire.Error(Yoi.Messages.ErrorCode.InvalidRequest, reason) + "\n"));
            client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException) { client.Dispose(); return; }
        _ = Task.Run(async () =>
        {
            using var linger = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try { while (await client.ReceiveAsync(DiscardSink, SocketFlags.None, linger.Token) > 0) { } }
            catch { /* timed out or reset */ }
            client.Dispose();
        });
    }

    private static readonly byte[] DiscardSink = new byte[4096]; // shared: what is read into it is never looked at

    private static string SafeRemote(Socket s)
    {
        try { return s.RemoteEndPoint?.ToString() ?? "?"; } catch { return "?"; }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _unix?.Dispose();
        _tcp?.Dispose();
        foreach (var (connection, _) in _connections.Values) connection.Abort();
        try { await Task.WhenAll(_acceptLoops.Concat(_connections.Values.Select(c => c.Run))).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken); }
        catch { /* best effort */ }
        try { if (File.Exists(_options.SocketPath)) File.Delete(_options.SocketPath); }
        catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }
}
