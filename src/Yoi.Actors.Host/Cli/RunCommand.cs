using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi run NAME "text" [--manifest F]`: attach (creating with the manifest if given), send one `run`,
/// render the stream, exit when the run is over. With no node listening on the home's socket it starts an
/// embedded node in-process (the same composition as `yoi serve`). Exit codes: <see cref="ExitCodes"/>.</summary>
public static class RunCommand
{
    /// <summary>0 finished; 1 error (provider/tool error, rejected, connection lost); 2 usage; 3 paused;
    /// 4 turn limit reached; 5 rolled back (cancelled before any output); 130 interrupted (Ctrl-C, the run is
    /// cancelled).</summary>
    public static class ExitCodes
    {
        public const int Finished = 0, Error = 1, Usage = 2, Paused = 3, LimitReached = 4, RolledBack = 5, Interrupted = 130;
    }

    public static async Task<int> ExecuteAsync(ClientTarget target, string name, string text, string? manifest, CancellationToken ct)
    {
        if (WorkerName.Validate(name) is { } nameError)
        {
            Output.Error(nameError);
            return ExitCodes.Usage;
        }
        string? manifestPath = null;
        if (manifest is not null)
        {
            manifestPath = Path.GetFullPath(manifest);
            if (!File.Exists(manifestPath))
            {
                Output.Error($"manifest not found: {manifestPath}");
                return ExitCodes.Usage;
            }
        }

        var options = new YoiNodeOptions { Home = target.Home };
        IHost? embedded = null;
        try
        {
            var client = await target.TryConnectAsync(ct);
            if (client is null)
            {
                Output.Note($"[starting an embedded node in {target.Home}]");
                embedded = NodeHost.Build(options, new EndpointOptions { SocketPath = options.SocketPath }, LogLevel.Warning);
                await embedded.StartAsync(ct);
                client = await LineClient.TryConnectAsync(options.SocketPath, ct)
                         ?? throw new InvalidOperationException($"the embedded node does not listen on {options.SocketPath}");
            }

            await using (client)
            {
                // Over TCP the node may not see our files: send the manifest's text (relative paths in it then
                // resolve against the node's working directory).
                CreateSpec? create = manifestPath is null ? null
                    : target.IsTcp ? new CreateSpec(ManifestToml: await File.ReadAllTextAsync(manifestPath, ct))
                    : new CreateSpec(Manifest: manifestPath);
                return await RunOnceAsync(client, name, text, create, ct);
            }
        }
        catch (CliException e)
        {
            Output.Error(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Output.Error("interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Output.Error(ex.Message);
            return ExitCodes.Error;
        }
        finally
        {
            if (embedded is not null)
            {
                try { await embedded.StopAsync(CancellationToken.None); }
                catch (Exception ex) { Output.Error($"embedded node stop: {ex.Message}"); }
                embedded.Dispose();
            }
        }
    }

    /// <summary>Sends `attach` and reads alerts up to the snapshot. null (after printing why) when refused.</summary>
    public static async Task<SnapshotEvent?> AttachAsync(LineClient client, string name, CreateSpec? create, EventRenderer renderer, CancellationToken ct)
    {
        await client.SendAsync(new AttachMethod(name, create), ct);
        while (true)
        {
            var evt = await client.ReadAsync(ct);
            switch (evt)
            {
                case null:
                    Output.Error("the node closed the connection");
                    return null;
                case AlertEvent a:
                    renderer.Render(a);
                    continue;
                case ErrorEvent e:
                    Output.Error($"{Output.Code(e.Code)}: {e.Message}");
                    if (create is null && e.Message.Contains("does not exist"))
                        Output.Error("pass --manifest FILE to create it");
                    return null;
                case SnapshotEvent s:
                    return s;
                default:
                    continue;
            }
        }
    }

    private static async Task<int> RunOnceAsync(LineClient client, string name, string text, CreateSpec? create, CancellationToken ct)
    {
        var renderer = EventRenderer.ForRun();
        if (await AttachAsync(client, name, create, renderer, ct) is null) return ExitCodes.Error;

        await client.SendAsync(new RunMethod([new TextSegment(text)]), ct);

        var started = false;
        var errored = false;
        RunResult? result = null;
        try
        {
            while (true)
            {
                var evt = await client.ReadAsync(ct);
                if (evt is null)
                {
                    renderer.EndLine();
                    Output.Error("connection closed before the run ended");
                    return ExitCodes.Error;
                }
                switch (evt)
                {
                    case StatusEvent { Status: WorkerStatus.Running }:
                        started = true;
                        break;
                    case StatusEvent s when started:
                        renderer.EndLine();
                        if (errored) return ExitCodes.Error;
                        if (result is { } r && r != RunResult.Finished)
                            Output.Note($"[run ended: {Output.Snake(r.ToString())}; worker {Output.Snake(s.Status.ToString())}]");
                        return result switch
                        {
                            RunResult.Paused => ExitCodes.Paused,
                            RunResult.LimitReached => ExitCodes.LimitReached,
                            RunResult.RolledBack => ExitCodes.RolledBack,
                            _ => ExitCodes.Finished,
                        };
                    case RunEndEvent re:
                        result = re.Result;
                        break;
                    case ErrorEvent e:
                        renderer.EndLine();
                        Output.Error($"{Output.Code(e.Code)}: {e.Message}");
                        if (!started) return ExitCodes.Error; // rejected (e.g. already_running)
                        errored = true;
                        break;
                    case ShutdownEvent:
                        renderer.EndLine();
                        Output.Error("the worker shut down");
                        return errored || result is null ? ExitCodes.Error : ExitCodes.Finished;
                    default:
                        renderer.Render(evt);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && started)
        {
            // Ctrl-C: cancel the run we started rather than leave it running unattended.
            renderer.EndLine();
            try
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await client.SendAsync(new CancelMethod(), grace.Token);
                Output.Note("[cancel sent]");
            }
            catch (Exception) { /* best effort */ }
            throw;
        }
    }
}
