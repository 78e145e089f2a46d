using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>One accepted client socket: a reader loop (this class) that decodes methods and hands them to the
/// connection's <see cref="ConnectionActor"/>, and a single writer task that drains an outgoing line queue, so
/// neither the actor nor the reader ever blocks on a slow peer. A peer that lets the queue overflow is dropped.</summary>
public sealed class ClientConnection
{
    /// <summary>Outgoing lines buffered per connection before a lagging client is disconnected.</summary>
    public const int OutgoingCapacity = 4096;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Channel<string> _outgoing = Channel.CreateBounded<string>(
        new BoundedChannelOptions(OutgoingCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _closed = new();
    private readonly ILogger _log;
    private readonly object _attachLock = new();
    private TaskCompletionSource<bool>? _attachOutcome;
    private int _closing;

    public ClientConnection(Socket socket, string id, bool requireHello, ILogger log)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Id = id;
        RequireHello = requireHello;
        _log = log;
        Writer = Task.Run(WriteLoopAsync);
    }

    public string Id { get; }
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
            ShutdownSocket();
            try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        }
    }

    private void ShutdownSocket()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch { /* already closed */ }
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

    /// <summary>Reads lines until EOF / error / close. Never throws; always stops the actor at the end.</summary>
    public async Task RunAsync(ActorSystem system, IActorRef region, string? token, string defaultManifestDir)
    {
        IActorRef? actor = null;
        try
        {
            using var reader = new StreamReader(_stream, Utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 8192, leaveOpen: true);
            var helloDone = !RequireHello;
            var attached = false;
            HostInspector? inspector = null;
            actor = system.ActorOf(Props.Create(typeof(ConnectionActor), this, region), "conn-" + Id);

            while (!_closed.IsCancellationRequested)
            {
                string? raw;
                try { raw = await reader.ReadLineAsync(_closed.Token); }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    break; // peer went away: close silently
                }
                if (raw is null) break; // EOF
                var line = raw.Trim();
                if (line.Length == 0) continue;

                Method method;
                try { method = Wire.DecodeMethod(line); }
                catch (Exception ex)
                {
                    if (!helloDone)
                    {
                        RejectHello();
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
                        continue;
                    }
                    RejectHello();
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
                        inspector ??= new HostInspector(system, region);
                        Send(Wire.Encode(await inspector.HandleAsync(method, _closed.Token)));
                        continue;
                    default:
                        if (!attached)
                        {
                            Send(Wire.InvalidMethod($"not attached: the first method must be `attach` (got `{MethodName(line)}`)"));
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
            Abort();
            _stream.Dispose();
            _socket.Dispose();
        }
    }

    private async Task<bool> AttachAsync(IActorRef actor, AttachMethod attach, string defaultManifestDir)
    {
        if (WorkerNames.Validate(attach.Worker) is { } nameError)
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
        Send(Wire.Error(ErrorCode.InvalidRequest, "invalid or missing token"));
    }

    private static bool TokenMatches(string? given, string? expected)
    {
        if (string.IsNullOrEmpty(expected) || given is null) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
    }

    private static string MethodName(string line)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("method", out var m) ? m.GetString() ?? "?" : "?";
        }
        catch { return "?"; }
    }
}
