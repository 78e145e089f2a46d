// Soak bench of the node's trust boundary (issue 14): a real `yoi serve` process on 127.0.0.1 is flooded with
// malformed input of every class from many connections at once, while another client runs turns on its own
// Worker. Reports, per class, what came back; the node's RSS (baseline, peak during the flood, 5 s after); and
// the other client's errors and turn latency. Bounded: fixed counts, every wait has a timeout.
//
//   bash bench/soak.sh            (builds Release, runs this, prints a Markdown table)

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Yoi.Messages;

var yoiDll = args.Length > 0 ? Path.GetFullPath(args[0]) : throw new ArgumentException("usage: Yoi.Soak PATH/yoi.dll [turns]");
const string Token = "soak-token";
var work = Directory.CreateTempSubdirectory("yoi-soak-").FullName;
var home = Path.Combine(work, "home");
Directory.CreateDirectory(home);

// ---- the node ----
var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work };
foreach (var a in new[] { yoiDll, "serve", "--home", home, "--listen", "127.0.0.1:0" }) psi.ArgumentList.Add(a);
psi.Environment["YOI_TOKEN"] = Token;
using var node = Process.Start(psi)!;
var nodeLog = new ConcurrentQueue<string>();
var up = new TaskCompletionSource<string>();
string? tcp = null;
node.OutputDataReceived += (_, e) =>
{
    if (e.Data is null) return;
    if (e.Data.StartsWith("yoi tcp endpoint:")) tcp = e.Data["yoi tcp endpoint:".Length..].Trim();
    if (e.Data.StartsWith("yoi node up:")) up.TrySetResult(e.Data["yoi node up:".Length..].Trim());
};
node.ErrorDataReceived += (_, e) => { if (e.Data is not null) nodeLog.Enqueue(e.Data); };
node.BeginOutputReadLine();
node.BeginErrorReadLine();
var socketPath = await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
var tcpEndPoint = IPEndPoint.Parse(tcp!);
Console.Error.WriteLine($"node pid {node.Id} up: {socketPath}, tcp {tcpEndPoint}");

long Rss()
{
    foreach (var line in File.ReadLines($"/proc/{node.Id}/status"))
        if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    return 0;
}

string Manifest(string worker, int turns)
{
    var responses = new JsonArray();
    for (var i = 0; i < turns; i++)
        responses.Add(new JsonObject { ["items"] = new JsonArray(new JsonObject { ["text"] = new JsonArray("ok") }) });
    var script = Path.Combine(work, worker + "-script.json");
    File.WriteAllText(script, new JsonObject { ["model"] = "scripted-1", ["responses"] = responses }.ToJsonString());
    return $"[worker]\nname = \"{worker}\"\n\n[model]\nscheme = \"scripted\"\nscript = \"{script}\"\n";
}

// ---- the steady client: turns on its own Worker, all the time ----
var steadyLatencies = new ConcurrentBag<double>();
var steadyErrors = new ConcurrentQueue<string>();
using var stopSteady = new CancellationTokenSource();
await using var steady = await Conn.UnixAsync(socketPath);
await steady.SendAsync(new AttachMethod("steady", new CreateSpec(ManifestToml: Manifest("steady", 20_000))).Encode());
await steady.ExpectAsync(e => e is SnapshotEvent, TimeSpan.FromSeconds(30));
async Task<double?> TurnAsync()
{
    var sw = Stopwatch.StartNew();
    await steady.SendAsync(new RunMethod([new TextSegment("hi")]).Encode());
    var end = await steady.ExpectAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(30));
    if (end is RunEndEvent { Result: RunResult.Finished }) return sw.Elapsed.TotalMilliseconds;
    steadyErrors.Enqueue(end?.Encode() ?? "no run_end within 30 s");
    return null;
}
for (var i = 0; i < 200; i++) await TurnAsync(); // warm-up
steadyErrors.Clear();
await Task.Delay(3000);
var baseline = Enumerable.Range(0, 5).Select(_ => { Thread.Sleep(200); return Rss(); }).Average();
Console.Error.WriteLine($"baseline RSS {baseline / 1e6:0} MB");

var steadyTask = Task.Run(async () =>
{
    while (!stopSteady.IsCancellationRequested)
        if (await TurnAsync() is { } ms) steadyLatencies.Add(ms);
});

// The flood's own Worker (attached connections send their bad lines to it).
await using (var c = await Conn.UnixAsync(socketPath))
{
    await c.SendAsync(new AttachMethod("flood", new CreateSpec(ManifestToml: Manifest("flood", 1))).Encode());
    await c.ExpectAsync(e => e is SnapshotEvent, TimeSpan.FromSeconds(30));
}

// ---- RSS sampling ----
long peak = 0;
using var stopSampling = new CancellationTokenSource();
var sampler = Task.Run(async () =>
{
    while (!stopSampling.IsCancellationRequested)
    {
        peak = Math.Max(peak, Rss());
        await Task.Delay(100);
    }
});

var results = new ConcurrentDictionary<string, Tally>();
Tally T(string name) => results.GetOrAdd(name, n => new Tally(n));

static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
Task Guarded(string name, Func<Task> body) => Task.Run(async () =>
{
    try { await body(); }
    catch (Exception e) { T(name).Add("client-side exception " + e.GetType().Name, 1); }
});
var lineClasses = new (string Name, byte[] Line, int Count)[]
{
    ("invalid JSON", Bytes("{not json}\n"), 2000),
    ("truncated JSON", Bytes("{\"method\":\"run\",\"params\":{\"input\":[{\"type\":\"te\n"), 2000),
    ("wrong param types", Bytes("{\"method\":\"run\",\"params\":{\"input\":42}}\n"), 2000),
    ("unknown method", Bytes("{\"method\":\"frobnicate\",\"params\":{}}\n"), 2000),
    ("invalid UTF-8", [.. Bytes("{\"method\":\""), 0xC3, 0x28, 0xFF, .. Bytes("\",\"params\":{}}\n")], 1000),
    ("NUL bytes", Bytes("{\"method\":\"run\0\",\0\"params\":{}}\n"), 1000),
    ("10,000-deep nesting", Bytes("{\"method\":\"run\",\"params\":" + new string('[', 10_000) + new string(']', 10_000) + "}\n"), 100),
};

var sw = Stopwatch.StartNew();
var flood = new List<Task>();

// Line classes: 4 attached Unix connections per class, each sends its share, then waits for one reply per line.
foreach (var (name, line, count) in lineClasses)
    for (var k = 0; k < 4; k++)
    {
        var share = count / 4;
        flood.Add(Guarded(name, async () =>
        {
            var t = T(name);
            await using var c = await Conn.UnixAsync(socketPath);
            await c.SendAsync(new AttachMethod("flood").Encode());
            await c.ExpectAsync(e => e is SnapshotEvent, TimeSpan.FromSeconds(30));
            c.CountFrom(t);
            for (var i = 0; i < share; i++) await c.WriteAsync(line);
            t.Add("lines sent", share);
            await c.WaitRepliesAsync(share, TimeSpan.FromSeconds(60));
            t.Connection(c.ClosedByNode);
        }));
    }

// Big lines (a JSON string of N MB, unknown method): within the attached 32 MiB limit they are decoded and rejected;
// over it the node answers "line exceeds" and closes. 1 MB before `hello` on TCP hits the 64 KiB limit.
foreach (var (mb, count, overTcp) in new[] { (1, 4, false), (16, 2, false), (64, 1, false), (256, 1, false), (1, 4, true) })
    for (var k = 0; k < count; k++)
        flood.Add(Guarded(overTcp ? $"{mb} MB line before hello (TCP)" : $"{mb} MB line (attached)", async () =>
        {
            var t = T(overTcp ? $"{mb} MB line before hello (TCP)" : $"{mb} MB line (attached)");
            await using var c = overTcp ? await Conn.TcpAsync(tcpEndPoint) : await Conn.UnixAsync(socketPath);
            if (!overTcp)
            {
                await c.SendAsync(new AttachMethod("flood").Encode());
                await c.ExpectAsync(e => e is SnapshotEvent, TimeSpan.FromSeconds(30));
            }
            c.CountFrom(t);
            try
            {
                await c.WriteAsync(Bytes("{\"method\":\"frobnicate\",\"pad\":\""));
                var chunk = Encoding.ASCII.GetBytes(new string('a', 1 << 20));
                for (var i = 0; i < mb; i++) await c.WriteAsync(chunk);
                await c.WriteAsync(Bytes("\"}\n"));
                t.Add("lines sent", 1);
            }
            catch (Exception e) when (e is IOException or SocketException) { t.Add("send cut off by the node's close", 1); }
            await c.WaitRepliesAsync(1, TimeSpan.FromSeconds(60));
            t.Connection(c.ClosedByNode);
        }));

// A partial line, then the client closes.
for (var k = 0; k < 200; k++)
    flood.Add(Guarded("no newline, then close", async () =>
    {
        var t = T("no newline, then close");
        await using var c = await Conn.UnixAsync(socketPath);
        c.CountFrom(t);
        await c.WriteAsync(Bytes("{\"method\":\"run\",\"par"));
        t.Add("lines sent", 1);
        c.Close();
    }));

// 1,000 TCP connections that send nothing: wait for what the node does (deadline 10 s; cap 64 per address).
var idle = Task.Run(async () =>
{
    var t = T("1,000 silent TCP connections");
    var conns = new List<Conn>();
    for (var k = 0; k < 1000; k++)
    {
        try { var c = await Conn.TcpAsync(tcpEndPoint); c.CountFrom(t); conns.Add(c); }
        catch (SocketException e) { t.Add("connect failed: " + e.SocketErrorCode, 1); }
    }
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
    foreach (var c in conns) await c.WaitClosedAsync(deadline);
    foreach (var c in conns) { t.Connection(c.ClosedByNode); await c.DisposeAsync(); }
});
flood.Add(idle);

// 2,000 connection attempts (8 at a time): connect, valid hello, one host query, close.
var attempts = Task.Run(async () =>
{
    var t = T("2,000 connection attempts (hello + query)");
    var next = 0;
    await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
    {
        while (Interlocked.Increment(ref next) <= 2000)
        {
            try
            {
                await using var c = await Conn.TcpAsync(tcpEndPoint);
                c.CountFrom(t);
                await c.SendAsync(new HelloMethod(Token).Encode());
                await c.SendAsync(new ClusterShowMethod().Encode());
                await c.WaitRepliesAsync(1, TimeSpan.FromSeconds(20));
            }
            catch (Exception e) when (e is IOException or SocketException) { t.Add("connect/send failed", 1); }
        }
    })));
});
flood.Add(attempts);

await Task.WhenAll(flood).WaitAsync(TimeSpan.FromMinutes(5));
var floodSeconds = sw.Elapsed.TotalSeconds;
var peakDuring = peak;
await Task.Delay(5000);
var after = Rss();
stopSampling.Cancel();
stopSteady.Cancel();
await steadyTask.WaitAsync(TimeSpan.FromSeconds(40));
await sampler;

// ---- report ----
var lat = steadyLatencies.OrderBy(x => x).ToArray();
double P(double q) => lat.Length == 0 ? double.NaN : lat[Math.Min(lat.Length - 1, (int)(q * lat.Length))];
Console.WriteLine($"| class | what came back |");
Console.WriteLine($"|---|---|");
foreach (var t in results.Values.OrderBy(t => t.Name))
    Console.WriteLine($"| {t.Name} | {string.Join("; ", t.Counts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value:N0}"))} |");
Console.WriteLine();
Console.WriteLine($"| figure | measured |");
Console.WriteLine($"|---|---:|");
Console.WriteLine($"| flood duration | {floodSeconds:0.0} s |");
Console.WriteLine($"| node RSS: baseline / peak during the flood / 5 s after | {baseline / 1e6:0} / {peakDuring / 1e6:0} / {after / 1e6:0} MB |");
Console.WriteLine($"| peak − baseline; after − baseline | {(peakDuring - baseline) / 1e6:+0;-0} MB; {(after - baseline) / 1e6:+0;-0} MB |");
Console.WriteLine($"| steady client: turns / errors | {lat.Length:N0} / {steadyErrors.Count} |");
Console.WriteLine($"| steady client turn latency p50 / p99 / max | {P(0.5):0.0} / {P(0.99):0.0} / {(lat.Length > 0 ? lat[^1] : double.NaN):0.0} ms |");
var alive = !node.HasExited;
Console.WriteLine($"| node still alive | {alive} |");
foreach (var e in steadyErrors.Take(5)) Console.Error.WriteLine("steady error: " + e);

node.Kill(entireProcessTree: true);
await node.WaitForExitAsync();
try { Directory.Delete(work, recursive: true); } catch { }
return steadyErrors.IsEmpty && alive ? 0 : 1;

/// <summary>Counts of what came back for one class of bad input.</summary>
sealed class Tally(string name)
{
    public string Name { get; } = name;
    public ConcurrentDictionary<string, long> Counts { get; } = new();
    public void Add(string what, long n) => Counts.AddOrUpdate(what, n, (_, v) => v + n);

    public void Reply(Event e) => Add(e is ErrorEvent err ? "error: " + Category(err.Message) : "event " + e.GetType().Name, 1);
    public void Connection(bool closedByNode) => Add(closedByNode ? "connections closed by the node" : "connections left open", 1);

    /// <summary>"invalid method: ... detail" → "invalid method"; limit and cap messages as they are.</summary>
    private static string Category(string message)
    {
        var colon = message.IndexOf(':');
        return message.StartsWith("invalid method") && colon > 0 ? message[..colon] : message;
    }
}

/// <summary>A raw client connection: writes bytes, decodes replies on a background reader.</summary>
sealed class Conn : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Task _reader;
    private readonly System.Threading.Channels.Channel<Event> _events = System.Threading.Channels.Channel.CreateUnbounded<Event>();
    private Tally? _tally;
    private int _replies;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Conn(Socket s)
    {
        _socket = s;
        _stream = new NetworkStream(s, ownsSocket: true);
        _reader = Task.Run(ReadLoop);
    }

    public bool ClosedByNode { get; private set; }

    public static async Task<Conn> UnixAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
                return new Conn(s);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TryAgain && attempt < 100)
            {
                s.Dispose(); // the listen backlog is full: retry, as a client would
                await Task.Delay(20);
            }
        }
    }

    public static async Task<Conn> TcpAsync(IPEndPoint ep)
    {
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await s.ConnectAsync(ep, cts.Token);
        return new Conn(s);
    }

    /// <summary>From now on every reply is counted in <paramref name="t"/> instead of queued.</summary>
    public void CountFrom(Tally t) => _tally = t;

    private async Task ReadLoop()
    {
        try
        {
            using var reader = new StreamReader(_stream, new UTF8Encoding(false), false, 8192, leaveOpen: true);
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                var e = Event.Decode(line);
                if (_tally is { } t)
                {
                    if (e is AlertEvent) continue; // the Worker's own alerts are not replies
                    t.Reply(e);
                    Interlocked.Increment(ref _replies);
                }
                else _events.Writer.TryWrite(e);
            }
            ClosedByNode = !_disposing;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            ClosedByNode = !_disposing;
            if (ClosedByNode && ex is IOException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionReset } })
                _tally?.Add("connection reset", 1);
        }
        catch (Exception ex) when (!_disposing)
        {
            _tally?.Add("undecodable reply " + ex.GetType().Name, 1);
        }
        catch (Exception) { /* the client closed its own stream under the reader */ }
        finally { _closed.TrySetResult(); }
    }

    private volatile bool _disposing;

    public async Task WriteAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    public Task SendAsync(string line) => WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));

    public async Task<Event?> ExpectAsync(Func<Event, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _events.Reader.WaitToReadAsync(cts.Token))
                while (_events.Reader.TryRead(out var e))
                    if (match(e)) return e;
        }
        catch (OperationCanceledException) { }
        return null;
    }

    /// <summary>Until <paramref name="n"/> replies arrived, the node closed the connection, or the timeout.</summary>
    public async Task WaitRepliesAsync(int n, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _replies) < n && !_closed.Task.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
        var missing = n - Volatile.Read(ref _replies);
        if (missing > 0) _tally?.Add(_closed.Task.IsCompleted ? "closed with no reply" : "no reply within " + timeout.TotalSeconds + " s", missing);
    }

    public async Task WaitClosedAsync(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        if (left > TimeSpan.Zero) await Task.WhenAny(_closed.Task, Task.Delay(left));
    }

    public void Close()
    {
        _disposing = true;
        try { _socket.Shutdown(SocketShutdown.Both); } catch { }
        _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        try { _socket.Shutdown(SocketShutdown.Both); } catch { }
        _stream.Dispose();
        try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}
