using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Yoi.Actors.Host.Endpoint;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>A JSON Lines client of the node endpoint (Unix socket, or TCP after `hello`).</summary>
public sealed class LineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private LineClient(Socket socket, Stream? stream = null)
    {
        _socket = socket;
        _stream = stream ?? new NetworkStream(socket, ownsSocket: true);
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

    /// <summary>Connects to a node's TCP endpoint (`HOST:PORT`) and sends `hello` with <paramref name="token"/>.
    /// A wrong token is answered by an `error` event on the first read, then the node closes the connection.
    /// With <paramref name="tls"/> the connection is TLS, the node's certificate checked against its CA and name.</summary>
    public static async Task<LineClient> ConnectTcpAsync(string hostPort, string token, CancellationToken ct, ClientTls? tls = null)
    {
        var endPoint = ClientEndpoint.ParseHostPort(hostPort);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(endPoint, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new CliException($"cannot connect to {hostPort}: {e.Message}");
        }
        Stream? stream = null;
        if (tls is not null)
        {
            SslClientAuthenticationOptions options;
            try { options = tls.ClientOptions(hostPort[..hostPort.LastIndexOf(':')].Trim('[', ']')); }
            catch (InvalidOperationException e)
            {
                socket.Dispose();
                throw new CliException(e.Message, 2);
            }
            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await ssl.AuthenticateAsClientAsync(options, timeout.Token);
            }
            catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or SocketException
                                          or OperationCanceledException && !ct.IsCancellationRequested)
            {
                await ssl.DisposeAsync();
                throw new CliException($"tls handshake with {hostPort} failed: {e.Message}");
            }
            stream = ssl;
        }
        var client = new LineClient(socket, stream);
        await client.SendAsync(new HelloMethod(token), ct);
        return client;
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

/// <summary>The CLI's TLS settings for `--connect` (`--tls`, `--tls-ca FILE`; `--tls-cert`/`--tls-key` for a client
/// certificate when the node requires mutual TLS).</summary>
public sealed record ClientTls(string? CaPath = null, string? CertificatePath = null, string? KeyPath = null)
{
    public SslClientAuthenticationOptions ClientOptions(string targetHost)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        // With --tls-ca only that CA is trusted; without it, the OS trust store. The host name is checked either way.
        if (CaPath is { } ca) options.CertificateChainPolicy = TlsOptions.TrustOnly(TlsOptions.LoadCa(ca, "--tls-ca"), clientAuth: false);
        if (CertificatePath is { } cert)
            options.ClientCertificates = [TlsOptions.LoadCertificate(cert, KeyPath ?? cert, "--tls-cert/--tls-key")];
        return options;
    }
}
