using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi run NAME "text" [--manifest F]`: attach (creating with the manifest if given), send one `run`,
/// render the stream, exit when the run is over. With no node listening on the home's socket it starts an
/// embedded node in-process (the same composition as `yoi serve`).</summary>
public static class RunCommand
{
    public static async Task<int> ExecuteAsync(string home, string name, string text, string? manifest, CancellationToken ct)
    {
        if (WorkerNames.Validate(name) is { } nameError)
        {
            Console.Error.WriteLine($"yoi: {nameError}");
            return 2;
        }
        string? manifestPath = null;
        if (manifest is not null)
        {
            manifestPath = Path.GetFullPath(manifest);
            if (!File.Exists(manifestPath))
            {
                Console.Error.WriteLine($"yoi: manifest not found: {manifestPath}");
                return 2;
            }
        }

        var options = new YoiNodeOptions { Home = home };
        IHost? embedded = null;
        try
        {
            var client = await LineClient.TryConnectAsync(options.SocketPath, ct);
            if (client is null)
            {
                Console.Error.WriteLine(Dim($"[starting an embedded node in {home}]"));
                embedded = NodeHost.Build(options, new EndpointOptions { SocketPath = options.SocketPath }, LogLevel.Warning);
                await embedded.StartAsync(ct);
                client = await LineClient.TryConnectAsync(options.SocketPath, ct)
                         ?? throw new InvalidOperationException($"the embedded node does not listen on {options.SocketPath}");
            }

            await using (client)
            {
                return await RunOnceAsync(client, name, text, manifestPath, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("yoi: interrupted");
            return 130;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Console.Error.WriteLine($"yoi: {ex.Message}");
            return 1;
        }
        finally
        {
            if (embedded is not null)
            {
                try { await embedded.StopAsync(CancellationToken.None); }
                catch (Exception ex) { Console.Error.WriteLine($"yoi: embedded node stop: {ex.Message}"); }
                embedded.Dispose();
            }
        }
    }

    private static async Task<int> RunOnceAsync(LineClient client, string name, string text, string? manifestPath, CancellationToken ct)
    {
        var create = manifestPath is null ? null : new CreateSpec(Manifest: manifestPath);
        await client.SendAsync(new AttachMethod(name, create), ct);

        // alert replay, then the snapshot (or a rejection)
        while (true)
        {
            var evt = await client.ReadAsync(ct);
            switch (evt)
            {
                case null:
                    Console.Error.WriteLine("yoi: the node closed the connection");
                    return 1;
                case AlertEvent a:
                    RenderAlert(a);
                    continue;
                case ErrorEvent e:
                    Console.Error.WriteLine($"yoi: {Code(e.Code)}: {e.Message}");
                    if (manifestPath is null && e.Message.Contains("does not exist"))
                        Console.Error.WriteLine("yoi: pass --manifest FILE to create it");
                    return 1;
                case SnapshotEvent:
                    break;
                default:
                    continue;
            }
            break;
        }

        await client.SendAsync(new RunMethod([new TextSegment(text)]), ct);

        var renderer = new StreamRenderer();
        var started = false;
        var errored = false;
        RunResult? result = null;
        while (true)
        {
            var evt = await client.ReadAsync(ct);
            if (evt is null)
            {
                renderer.EndLine();
                Console.Error.WriteLine("yoi: connection closed before the run ended");
                return 1;
            }
            switch (evt)
            {
                case StatusEvent { Status: WorkerStatus.Running }:
                    started = true;
                    break;
                case StatusEvent s when started:
                    renderer.EndLine();
                    if (errored) return 1;
                    if (result is { } r && r != RunResult.Finished) Console.Error.WriteLine(Dim($"[run ended: {Snake(r.ToString())}; worker {Snake(s.Status.ToString())}]"));
                    return 0;
                case RunEndEvent re:
                    result = re.Result;
                    break;
                case ErrorEvent e:
                    renderer.EndLine();
                    Console.Error.WriteLine($"yoi: {Code(e.Code)}: {e.Message}");
                    if (!started) return 1; // rejected (e.g. already_running)
                    errored = true;
                    break;
                case ShutdownEvent:
                    renderer.EndLine();
                    Console.Error.WriteLine("yoi: the worker shut down");
                    return errored || result is null ? 1 : 0;
                default:
                    renderer.Render(evt);
                    break;
            }
        }
    }

    private static void RenderAlert(AlertEvent a) =>
        Console.Error.WriteLine($"[{Snake(a.Level.ToString())}] {Snake(a.Source.ToString())}: {a.Message}");

    internal static string Code(ErrorCode code) => Snake(code.ToString());

    internal static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    internal static string Dim(string s) => Console.IsErrorRedirected ? s : $"\u001b[2m{s}\u001b[0m";
}

/// <summary>Plain rendering: text raw to stdout; thinking dimmed on stderr; tool calls `→ Name(args)` and
/// results `← summary` on stdout; retries, usage and alerts on stderr.</summary>
internal sealed class StreamRenderer
{
    private bool _midLine;        // stdout has an unterminated text line
    private bool _thinkingMidLine;

    public void EndLine()
    {
        if (_midLine) { Console.Out.WriteLine(); _midLine = false; }
        if (_thinkingMidLine) { Console.Error.WriteLine(); _thinkingMidLine = false; }
    }

    public void Render(Event evt)
    {
        switch (evt)
        {
            case TextDeltaEvent t:
                if (_thinkingMidLine) { Console.Error.WriteLine(); _thinkingMidLine = false; }
                Console.Out.Write(t.Text);
                _midLine = !t.Text.EndsWith('\n');
                break;
            case TextDoneEvent:
                if (_midLine) { Console.Out.WriteLine(); _midLine = false; }
                break;
            case ThinkingStartEvent:
                EndLine();
                break;
            case ThinkingDeltaEvent th:
                Console.Error.Write(RunCommand.Dim(th.Text));
                _thinkingMidLine = !th.Text.EndsWith('\n');
                break;
            case ThinkingDoneEvent:
                if (_thinkingMidLine) { Console.Error.WriteLine(); _thinkingMidLine = false; }
                break;
            case ToolCallDoneEvent tc:
                EndLine();
                Console.Out.WriteLine($"→ {tc.Name}({Shorten(tc.Arguments, 200)})");
                break;
            case ToolResultEvent tr:
                EndLine();
                Console.Out.WriteLine(tr.IsError ? $"← error: {tr.Summary}" : $"← {tr.Summary}");
                break;
            case LlmRetryEvent r:
                EndLine();
                Console.Error.WriteLine(RunCommand.Dim($"[retry {r.FailedAttempt}/{r.MaxAttempts} in {r.WaitMs} ms{(r.Status is { } st ? $" (HTTP {st})" : "")}: {r.Error}]"));
                break;
            case LlmContinuationEvent c:
                EndLine();
                Console.Error.WriteLine(RunCommand.Dim($"[stream interrupted, continuing ({c.Attempt}/{c.MaxAttempts}): {c.Reason}]"));
                break;
            case UsageEvent u:
                EndLine();
                Console.Error.WriteLine(RunCommand.Dim($"[usage: in {u.InputTokens?.ToString() ?? "?"}, out {u.OutputTokens?.ToString() ?? "?"}{(u.CacheReadInputTokens is { } cr ? $", cache read {cr}" : "")}]"));
                break;
            case AlertEvent a:
                EndLine();
                Console.Error.WriteLine($"[{RunCommand.Snake(a.Level.ToString())}] {a.Message}");
                break;
            case CompactStartEvent:
                EndLine();
                Console.Error.WriteLine(RunCommand.Dim("[compacting…]"));
                break;
            case CompactFailedEvent cf:
                EndLine();
                Console.Error.WriteLine($"[compaction failed: {cf.Error}]");
                break;
        }
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
