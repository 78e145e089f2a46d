using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>One accepted client socket: a reader loop (this class) that decodes methods and hands them to the
/// connection's <see cref="ConnectionActor"/>, and a single writer task that drains an outgoing line queue, so
/// neither the actor nor the reader ever blocks on a slow peer. A peer that lets the queue overflow is dropped.
/// Input is read through a bounded <see cref="LineReader"/>: a line over the limit gets one error and the connection
/// is closed; a TCP connection must send a valid `hello` before its deadline.</summary>
public sealed class ClientConnection
{
    /// <summary>Outgoing lines buffered per connection before a lagging client is disconnected.</summary>
    public const int OutgoingCapacity = 4096;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Socket? _socket; // null over a WebSocket (the stream is the transport)
    private readonly Stream _stream;
    private readonly EndpointLimits _limits;
    private readonly ConnectionGate.Admission _admission;
    private readonly CancellationTokenSource? _helloDeadline;
    private readonly Channel<string> _outgoing = Channel.CreateBounded<string>(
        new BoundedChannelOptions(OutgoingCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _closed = new();
    private readonly ILogger _log;
    private readonly object _attachLock = new();
    private TaskCompletionSource<bool>? _attachOutcome;
    private int _closing;

    /// <param name="stream">The socket's stream, or the TLS stream over it (already authenticated).</param>
    /// <param name="helloDeadline">TCP only: cancelled when the `hello` deadline (counted from accept) passes.</param>
    /// <param name="endpoint">The listener's name in the rejection metric: `unix`, `tcp`, `ws`.</param>
    public ClientConnection(Socket? socket, Stream stream, string id, bool requireHello, EndpointLimits limits,
        ConnectionGate.Admission admission, CancellationTokenSource? helloDeadline, ILogger log, string? endpoint = null)
    {
        Endpoint = endpoint ?? (requireHello ? "tcp" : "unix");
        _socket = socket;
        _stream = stream;
        _limits = limits;
        _admission = admission;
        _helloDeadline = helloDeadline;
        Id = id;
        RequireHello = requireHello;
        _log = log;
        Writer = Task.Run(WriteLoopAsync);
    }

    public string Id { get; }
    public string Endpoint { get; }
    public bool RequireHello { get; }
    public Task Writer { get; }
    public CancellationToken Closed => _closed.Token;

    // ---- outgoing (any thread) ----

    /// <summary>Queue one line; never blocks. A full queue means the client lags: it is disconnected.</summary>
    public void Send(string line)
    {
        if (_outgoing.Writer.TryWrite(line)) return;
        if (Volatile.Read(ref _closing) != 0) return;
        _log.LogWarning("client {Id} lags more than {Cap} messages; disconnecting it", Id, OutgoingCapacity);
        Abort();
    }

    /// <summary>Write what is queued, then close the socket.</summary>
    public void CloseAfterFlush()
    {
        Interlocked.Exchange(ref _closing, 1);
        _outgoing.Writer.TryComplete();
    }

    /// <summary>Close now, dropping whatever is still queued.</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _closing, 1);
        _outgoing.Writer.TryComplete();
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        ShutdownSocket();
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var line in _outgoing.Reader.ReadAllAsync(_closed.Token))
            {
                var bytes = Utf8.GetBytes(line + "\n");
                await _stream.WriteAsync(bytes, _closed.Token);
                await _stream.FlushAsync(_closed.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            Interlocked.Exchange(ref _closing, 1);
            _outgoing.Writer.TryComplete();
            // Half-close: the peer reads everything queued, then end of stream; the reader side closes the rest.
            if (_stream is System.Net.Security.SslStream tls)
            {
                try { await tls.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(2)); } catch { /* peer gone */ }
            }
            else if (_stream is WebSocketLineStream ws) await ws.CloseOutputAsync(TimeSpan.FromSeconds(2));
            ShutdownSocket(SocketShutdown.Send);
            try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        }
    }

    private void ShutdownSocket(SocketShutdown how = SocketShutdown.Both)
    {
        if (_stream is WebSocketLineStream ws)
        {
            if (how == SocketShutdown.Both) ws.Abort();
            return;
        }
        try { _socket?.Shutdown(how); } catch { /* already closed */ }
    }

    // ---- attach hand-shake with the actor ----

    internal Task<bool> BeginAttach()
    {
        lock (_attachLock)
        {
            _attachOutcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _attachOutcome.Task;
        }
    }

    /// <summary>Called by the actor when the snapshot (true) or a rejection (false) arrived.</summary>
    internal void CompleteAttach(bool attached)
    {
        lock (_attachLock) _attachOutcome?.TrySetResult(attached);
    }

    // ---- reader loop ----

    /// <summary>Reads lines until EOF / error / close. Never throws; always stops the actor and releases the
    /// connection's slot and buffers at the end.</summary>
    public async Task RunAsync(ActorSystem system, IActorRef region, HealthCheckService? health, string? token, string defaultManifestDir)
    {
        IActorRef? actor = null;
        var lines = new LineReader(_stream);
        var discardInput = false; // closing on a protocol violation: let the error line reach a peer still sending
        try
        {
            var helloDone = !RequireHello;
            var attached = false;
            HostInspector? inspector = null;
            actor = system.ActorOf(Props.Create(typeof(ConnectionActor), this, region), "conn-" + Id);

            while (!_closed.IsCancellationRequested)
            {
                var limit = _limits.LineLimit(authenticated: helloDone);
                LineReader.Outcome outcome;
                ReadOnlySequence<byte> raw;
                try
                {
                    if (helloDone) (outcome, raw) = await lines.ReadLineAsync(limit, _closed.Token);
                    else
                    {
                        using var read = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token, _helloDeadline?.Token ?? default);
                        (outcome, raw) = await lines.ReadLineAsync(limit, read.Token);
                    }
                }
                catch (OperationCanceledException) when (!helloDone && _helloDeadline?.IsCancellationRequested == true)
                {
                    Yoi.Actors.Telemetry.YoiTelemetry.Rejected(Endpoint, "hello_timeout");
                    Send(Wire.Error(ErrorCode.InvalidRequest, $"no valid `hello` within {_limits.HelloTimeout.TotalSeconds:0.###} s"));
                    discardInput = true;
                    break;
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    break; // peer went away: close silently
                }
                if (outcome == LineReader.Outcome.End) break;
                if (outcome == LineReader.Outcome.TooLong)
                {
                    Yoi.Actors.Telemetry.YoiTelemetry.Rejected(Endpoint, "line_too_long");
                    Send(Wire.Error(ErrorCode.InvalidRequest, EndpointLimits.LineTooLong(limit)));
                    discardInput = true;
                    break;
                }
                if (Wire.IsBlank(raw)) continue;

                Method method;
                try { method = Wire.DecodeMethod(raw); }
                catch (Exception ex)
                {
                    if (!helloDone)
                    {
                        RejectHello();
                        discardInput = true;
                        break;
                    }
                    Send(Wire.InvalidMethod(Wire.Describe(ex)));
                    continue;
                }

                if (!helloDone)
                {
                    if (method is HelloMethod hello && TokenMatches(hello.Token, token))
                    {
                        helloDone = true;
                        _admission.MarkAuthenticated();
                        continue;
                    }
                    RejectHello();
                    discardInput = true;
                    break;
                }

                switch (method)
                {
                    case HelloMethod:
                        Send(Wire.InvalidMethod("`hello` is only valid as the first line on the TCP endpoint"));
                        continue;
                    case AttachMethod when attached:
                        Send(Wire.InvalidMethod("`attach` is only valid once, as the first method of a connection"));
                        continue;
                    case AttachMethod attach:
                        attached = await AttachAsync(actor, attach, defaultManifestDir);
                        continue;
                    case IHostMethod:
                        // Host-level methods (inspection) need no attach: the node answers with one event.
                        inspector ??= new HostInspector(system, region, health);
                        Send(Wire.Encode(await inspector.HandleAsync(method, _closed.Token)));
                        continue;
                    default:
                        if (!attached)
                        {
                            Send(Wire.InvalidMethod($"not attached: the first method must be `attach` (got `{Wire.MethodName(raw)}`)"));
                            continue;
                        }
                        actor.Tell(new ConnectionActor.Inbound(method));
                        continue;
                }
            }
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "client {Id} failed", Id);
        }
        finally
        {
            if (actor is not null) actor.Tell(ConnectionActor.Disconnected.Instance);
            CloseAfterFlush();
            try { await Writer.WaitAsync(TimeSpan.FromSeconds(5)); } catch { /* timed out or faulted */ }
            if (discardInput) await lines.DiscardAsync(TimeSpan.FromSeconds(1));
            Abort();
            await lines.DisposeAsync(); // returns the pipe's segments to the pool
            MemoryJanitor.BufferReleased(lines.PeakBuffered);
            _stream.Dispose();
            _socket?.Dispose();
            _admission.Dispose();
            _helloDeadline?.Dispose();
        }
    }

    private async Task<bool> AttachAsync(IActorRef actor, AttachMethod attach, string defaultManifestDir)
    {
        if (WorkerName.Validate(attach.Worker) is { } nameError)
        {
            Send(Wire.Error(ErrorCode.InvalidRequest, nameError));
            return false;
        }

        string? toml = null, dir = null;
        if (attach.Create is { } create)
        {
            if (create.Manifest is not null && create.ManifestToml is not null)
            {
                Send(Wire.Error(ErrorCode.InvalidRequest, "create: give either `manifest` or `manifest_toml`, not both"));
                return false;
            }
            if (create.Manifest is { } path)
            {
                var full = Path.GetFullPath(path, defaultManifestDir);
                try { toml = await File.ReadAllTextAsync(full, _closed.Token); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Send(Wire.Error(ErrorCode.InvalidRequest, $"cannot read manifest `{full}`: {ex.Message}"));
                    return false;
                }
                dir = Path.GetDirectoryName(full);
            }
            else if (create.ManifestToml is { } text)
            {
                toml = text;
                dir = defaultManifestDir;
            }
            else
            {
                Send(Wire.Error(ErrorCode.InvalidRequest, "create: `manifest` (a path) or `manifest_toml` (inline text) is required"));
                return false;
            }
        }

        var outcome = BeginAttach();
        actor.Tell(new ConnectionActor.Attach(attach.Worker, toml, dir));
        try { return await outcome.WaitAsync(_closed.Token); }
        catch (OperationCanceledException) { return false; }
    }

    private void RejectHello()
    {
        Yoi.Actors.Telemetry.YoiTelemetry.Rejected(Endpoint, "auth");
        Send(Wire.Error(ErrorCode.InvalidRequest, "invalid or missing token"));
    }

    private static bool TokenMatches(string? given, string? expected)
    {
        if (string.IsNullOrEmpty(expected) || given is null) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
    }
}
