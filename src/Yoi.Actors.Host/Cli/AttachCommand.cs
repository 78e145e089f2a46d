using System.Threading.Channels;
using Spectre.Console;
using Yoi.Actors.Host.Endpoint;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi attach NAME [--manifest F]`: an interactive console on one Worker (Spectre.Console). Typed lines
/// are runs; `/commands` control the Worker (pause, resume, cancel, notify, compact, rewind list/choose/apply,
/// status, quit). The status is shown live (a rule on every change and the terminal title); a lost connection
/// is re-established (attach again, without creating) until the user quits.</summary>
public sealed class AttachCommand
{
    private const string Help = """
        Type a message and press Enter to run it. Commands:
          /pause            pause the running turn (durable; /resume continues it)
          /resume           resume a paused turn
          /cancel           cancel the running turn (or abandon a paused one)
          /notify TEXT      queue a notification (wakes an idle Worker)
          /compact          compact the conversation
          /rewind           list rewind targets;  /rewind N  rewinds to target N
          /status           show the Worker's status
          /stop             shut the Worker down
          /quit             detach (also Ctrl-D)
        """;

    private readonly ClientTarget _target;
    private readonly string _name;
    private readonly CreateSpec? _create;
    private readonly EventRenderer _renderer = EventRenderer.ForConsole();
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>();
    private IReadOnlyList<RewindTarget> _targets = [];
    private WorkerStatus _status = WorkerStatus.Idle;
    private Greeting? _greeting;
    private LineClient? _client;

    private sealed record Disconnected(LineClient Client);
    private sealed record InputLine(string? Text);

    private AttachCommand(ClientTarget target, string name, CreateSpec? create)
    {
        _target = target;
        _name = name;
        _create = create;
    }

    public static Task<int> ExecuteAsync(ClientTarget target, string name, string? manifest, CancellationToken ct) =>
        InspectionCommands.Guard(async () =>
        {
            if (WorkerName.Validate(name) is { } nameError) throw new CliException(nameError, 2);
            CreateSpec? create = null;
            if (manifest is not null)
            {
                var path = Path.GetFullPath(manifest);
                if (!File.Exists(path)) throw new CliException($"manifest not found: {path}", 2);
                create = target.IsTcp ? new CreateSpec(ManifestToml: await File.ReadAllTextAsync(path, ct)) : new CreateSpec(Manifest: path);
            }
            return await new AttachCommand(target, name, create).RunAsync(ct);
        }, ct);

    private async Task<int> RunAsync(CancellationToken ct)
    {
        var client = await _target.ConnectAsync(ct);
        if (!await AttachAsync(client, _create, ct))
        {
            await client.DisposeAsync();
            return 1;
        }
        Output.Out.MarkupLine("[dim]Type a message and press Enter to run it; /help lists the commands.[/]");
        StartInputReader();
        try
        {
            while (true)
            {
                var item = await _inbox.Reader.ReadAsync(ct);
                switch (item)
                {
                    case Event evt:
                        if (!OnEvent(evt)) return 0;
                        break;
                    case Disconnected d when ReferenceEquals(d.Client, _client):
                        if (!await ReconnectAsync(ct)) return 1;
                        break;
                    case InputLine { Text: null }:
                        return 0; // EOF (Ctrl-D)
                    case InputLine { Text: { } line }:
                        if (!await OnInputAsync(line.Trim(), ct)) return 0;
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0; // Ctrl-C detaches
        }
        finally
        {
            _renderer.EndLine();
            if (_client is not null) await _client.DisposeAsync();
            SetTitle(null);
        }
    }

    // ------------------------------------------------------------------ connection

    /// <summary>Attach on <paramref name="client"/>, render the header and the recent history, start reading.</summary>
    private async Task<bool> AttachAsync(LineClient client, CreateSpec? create, CancellationToken ct)
    {
        var snapshot = await RunCommand.AttachAsync(client, _name, create, _renderer, ct);
        if (snapshot is null) return false;
        _client = client;
        _greeting = snapshot.Greeting;
        _status = snapshot.Status;
        Output.Out.Write(new Rule($"[bold]{Markup.Escape(_name)}[/] · {Markup.Escape(_greeting.Provider)}/{Markup.Escape(_greeting.Model)} · {snapshot.Entries.Count} entries").LeftJustified());
        var visible = snapshot.Entries.Where(EventRenderer.IsVisible).ToList();
        foreach (var entry in visible.Skip(Math.Max(0, visible.Count - 20))) _renderer.RenderEntry(entry);
        if (snapshot.InFlight?.Blocks is { Count: > 0 } blocks)
            foreach (var block in blocks)
                if (block is InFlightText t) _renderer.Render(new TextDeltaEvent(t.Text));
        _renderer.EndLine();
        ShowStatus();
        _ = Task.Run(() => ReadLoopAsync(client, ct), CancellationToken.None);
        return true;
    }

    private async Task ReadLoopAsync(LineClient client, CancellationToken ct)
    {
        try
        {
            while (await client.ReadAsync(ct) is { } evt) await _inbox.Writer.WriteAsync(evt, ct);
        }
        catch (Exception) { /* closed or cancelled */ }
        _inbox.Writer.TryWrite(new Disconnected(client));
    }

    private async Task<bool> ReconnectAsync(CancellationToken ct)
    {
        _renderer.EndLine();
        var old = _client;
        _client = null;
        if (old is not null) await old.DisposeAsync();
        Output.Out.MarkupLine("[yellow][[connection lost; reconnecting…]][/]");
        var delay = TimeSpan.FromMilliseconds(500);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await _target.TryConnectAsync(ct) is { } client)
                {
                    if (await AttachAsync(client, null, ct))
                    {
                        Output.Out.MarkupLine("[green][[reconnected]][/]");
                        return true;
                    }
                    await client.DisposeAsync();
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or CliException) { }
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }
        return false;
    }

    // ------------------------------------------------------------------ events

    /// <summary>false when the console should end (the Worker shut down).</summary>
    private bool OnEvent(Event evt)
    {
        switch (evt)
        {
            case StatusEvent s:
                _status = s.Status;
                ShowStatus();
                return true;
            case RewindTargetsEvent rt:
                ShowRewindTargets(rt);
                return true;
            case RewindAppliedEvent ra:
                _renderer.EndLine();
                Output.Out.MarkupLine($"[yellow]rewound:[/] kept {ra.Summary.TruncatedToEntries} entries, discarded {ra.Summary.DiscardedEntries}" +
                                      (ra.Summary.ToolSideEffectWarning ? " [red](tool side effects are not undone)[/]" : ""));
                var input = Segment.FlattenAll(ra.Input);
                if (input.Length > 0) Output.Out.MarkupLine($"[dim]the rewound input was:[/] {Markup.Escape(input)}");
                return true;
            case ShutdownEvent:
                _renderer.Render(evt);
                _renderer.EndLine();
                return false;
            default:
                _renderer.Render(evt);
                return true;
        }
    }

    private void ShowStatus()
    {
        _renderer.EndLine();
        var status = Output.Snake(_status.ToString());
        Output.Out.Write(new Rule($"[bold]{Markup.Escape(_name)}[/] · {Output.StatusMarkup(status)}").RightJustified().RuleStyle("grey"));
        SetTitle($"yoi · {_name} · {status}");
    }

    private static void SetTitle(string? title)
    {
        if (!Output.Out.Profile.Capabilities.Ansi) return;
        Console.Out.Write($"\u001b]0;{title ?? "yoi"}\u0007");
        Console.Out.Flush();
    }

    private void ShowRewindTargets(RewindTargetsEvent rt)
    {
        _renderer.EndLine();
        _targets = rt.Targets;
        if (rt.Targets.Count == 0)
        {
            Output.Out.MarkupLine("[dim]no rewind targets[/]");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("#").AddColumn("TURN").AddColumn("INPUT").AddColumn("");
        for (var i = 0; i < rt.Targets.Count; i++)
        {
            var t = rt.Targets[i];
            table.AddRow((i + 1).ToString(), t.TurnIndex.ToString(), Markup.Escape(Output.Shorten(t.Preview, 60)),
                t.Eligible ? Markup.Escape(t.Warning ?? "") : $"[dim]{Markup.Escape(t.DisabledReason ?? "not eligible")}[/]");
        }
        Output.Out.Write(table);
        Output.Out.MarkupLine("[dim]choose with /rewind N[/]");
    }

    // ------------------------------------------------------------------ input

    private void StartInputReader()
    {
        var thread = new Thread(() =>
        {
            while (true)
            {
                string? line;
                try { line = Console.In.ReadLine(); }
                catch (Exception) { line = null; }
                _inbox.Writer.TryWrite(new InputLine(line));
                if (line is null) return;
            }
        }) { IsBackground = true, Name = "yoi-attach-input" };
        thread.Start();
    }

    /// <summary>false when the user quits.</summary>
    private async Task<bool> OnInputAsync(string line, CancellationToken ct)
    {
        if (line.Length == 0) return true;
        if (!line.StartsWith('/'))
        {
            await SendAsync(new RunMethod([new TextSegment(line)]), ct);
            return true;
        }
        var space = line.IndexOf(' ');
        var command = (space < 0 ? line : line[..space]).ToLowerInvariant();
        var arg = space < 0 ? "" : line[(space + 1)..].Trim();
        switch (command)
        {
            case "/quit" or "/exit" or "/detach":
                return false;
            case "/help" or "/?":
                Output.Out.WriteLine(Help);
                break;
            case "/pause": await SendAsync(new PauseMethod(), ct); break;
            case "/resume": await SendAsync(new ResumeMethod(), ct); break;
            case "/cancel": await SendAsync(new CancelMethod(), ct); break;
            case "/compact": await SendAsync(new CompactMethod(), ct); break;
            case "/stop" or "/shutdown": await SendAsync(new ShutdownMethod(), ct); break;
            case "/status":
                ShowStatus();
                break;
            case "/notify" when arg.Length > 0:
                await SendAsync(new NotifyMethod(arg), ct);
                Output.Out.MarkupLine("[dim]notification queued[/]");
                break;
            case "/notify":
                Output.Out.MarkupLine("[red]usage: /notify TEXT[/]");
                break;
            case "/rewind" when arg.Length == 0:
                await SendAsync(new ListRewindTargetsMethod(), ct);
                break;
            case "/rewind":
                if (!int.TryParse(arg, out var n) || n < 1 || n > _targets.Count)
                {
                    Output.Out.MarkupLine(_targets.Count == 0
                        ? "[red]list the targets first with /rewind[/]"
                        : $"[red]choose a target between 1 and {_targets.Count}[/]");
                    break;
                }
                var target = _targets[n - 1];
                if (!target.Eligible)
                {
                    Output.Out.MarkupLine($"[red]target {n} is not eligible: {Markup.Escape(target.DisabledReason ?? "")}[/]");
                    break;
                }
                await SendAsync(new RewindToMethod(target.Id, target.ExpectedHeadEntries), ct);
                break;
            default:
                Output.Out.MarkupLine($"[red]unknown command {Markup.Escape(command)}[/] [dim](/help lists them)[/]");
                break;
        }
        return true;
    }

    private async Task SendAsync(Method method, CancellationToken ct)
    {
        if (_client is null)
        {
            Output.Out.MarkupLine("[red]not connected (reconnecting…)[/]");
            return;
        }
        try { await _client.SendAsync(method, ct); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Output.Out.MarkupLine($"[red]send failed: {Markup.Escape(e.Message)}[/]");
        }
    }
}
