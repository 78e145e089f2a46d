using System.Text.Json;
using Spectre.Console;
using Yoi.Actors.Host.Endpoint;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>The inspection commands (`workers`, `inspect`, `restore`, `cluster show|leave|down`, `shards`): one
/// host-level method to the connected node, one reply, rendered as tables or (`--json`) as the reply's data.</summary>
public static class InspectionCommands
{
    /// <summary>Runs <paramref name="body"/>, turning <see cref="CliException"/>s into `yoi: …` and exit codes.</summary>
    public static async Task<int> Guard(Func<Task<int>> body, CancellationToken ct)
    {
        try { return await body(); }
        catch (CliException e)
        {
            Output.Error(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Output.Error("interrupted");
            return 130;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or JsonException)
        {
            Output.Error(e.Message);
            return 1;
        }
    }

    public static Task<int> WorkersAsync(ClientTarget target, bool json, CancellationToken ct) => Guard(async () =>
    {
        var reply = await target.QueryAsync<WorkersEvent>(new WorkersMethod(), ct);
        if (json) { Output.Json(reply); return 0; }
        if (reply.Workers.Count == 0) Output.Out.MarkupLine("[dim]no workers[/]");
        else
        {
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("NAME").AddColumn("STATUS").AddColumn("NODE").AddColumn("SHARD").AddColumn(new TableColumn("ENTRIES").RightAligned()).AddColumn("CHILDREN");
            foreach (var w in reply.Workers)
                table.AddRow(
                    Markup.Escape(w.Name),
                    Output.StatusMarkup(w.Status) + (w.Error is { } err ? $" [dim]({Markup.Escape(err)})[/]" : ""),
                    Markup.Escape(w.Node ?? "-"),
                    Markup.Escape(w.ShardId ?? "-"),
                    w.Entries?.ToString() ?? "-",
                    w.Children.Count == 0 ? "[dim]none[/]" : Markup.Escape(string.Join(", ", w.Children)));
            Output.Out.Write(table);
        }
        foreach (var f in reply.Failed) Output.Error($"no answer from {f}");
        return reply.Failed.Count == 0 ? 0 : 1;
    }, ct);

    public static Task<int> InspectAsync(ClientTarget target, string name, bool json, CancellationToken ct) => Guard(async () =>
    {
        var w = await target.QueryAsync<WorkerInspectionEvent>(new InspectMethod(name), ct);
        if (json) { Output.Json(w); return 0; }
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        void Row(string k, string v) => grid.AddRow($"[bold]{k}[/]", v);
        Row("worker", Markup.Escape(w.Name));
        Row("status", Output.StatusMarkup(w.Status));
        Row("node", Markup.Escape(w.Node));
        Row("session", w.SessionId.ToString());
        Row("segment", w.SegmentId.ToString());
        Row("entries", w.Entries.ToString());
        Row("turns", w.TurnCount.ToString());
        Row("notify pending", w.NotifyPending.ToString());
        Row("clients", w.Clients.ToString());
        Row("children", w.Children.Count == 0 ? "[dim]none[/]" : Markup.Escape(string.Join(", ", w.Children)));
        Row("loans", w.Loans.Count == 0 ? "[dim]none[/]" : Markup.Escape(string.Join(", ", w.Loans.Select(l => l.GetRawText()))));
        Row("previous segments", w.PreviousSegments.Count == 0 ? "[dim]none[/]" : string.Join("\n", w.PreviousSegments.Select(p =>
            $"{p.SegmentId} ({p.Entries} entries, compacted {DateTimeOffset.FromUnixTimeMilliseconds(p.RotatedAt):yyyy-MM-dd HH:mm:ss} UTC)")));
        Output.Out.Write(grid);
        Output.Out.MarkupLine("[bold]manifest[/] [dim](resolved, no secrets)[/]");
        Console.Out.WriteLine(JsonSerializer.Serialize(w.Manifest, new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
        return 0;
    }, ct);

    public static Task<int> RestoreAsync(ClientTarget target, string name, bool json, CancellationToken ct) => Guard(async () =>
    {
        var r = await target.QueryAsync<RestoreResultEvent>(new RestoreMethod(name), ct);
        if (json) { Output.Json(r); return 0; }
        Output.Out.MarkupLine(r.Action == "restored"
            ? $"restored [bold]{Markup.Escape(r.Worker)}[/] ({Output.StatusMarkup(r.Status)}) on {Markup.Escape(r.Node)}"
            : $"[bold]{Markup.Escape(r.Worker)}[/] is already live ({Output.StatusMarkup(r.Status)}) on {Markup.Escape(r.Node)}");
        return 0;
    }, ct);

    public static Task<int> ClusterShowAsync(ClientTarget target, bool json, CancellationToken ct) => Guard(async () =>
    {
        var s = await target.QueryAsync<ClusterStateEvent>(new ClusterShowMethod(), ct);
        if (json) { Output.Json(s); return 0; }
        Output.Out.MarkupLine($"[bold]self[/]   {Markup.Escape(s.SelfAddress)}");
        Output.Out.MarkupLine($"[bold]leader[/] {Markup.Escape(s.Leader ?? "(none)")}");
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("ADDRESS").AddColumn("STATUS").AddColumn("REACHABLE").AddColumn("ROLES").AddColumn("");
        foreach (var m in s.Members)
        {
            var marks = string.Join(" ", new[] { m.Leader ? "leader" : null, m.Self ? "self" : null }.OfType<string>());
            table.AddRow(
                Markup.Escape(m.Address),
                Output.StatusMarkup(m.Status),
                m.Reachable ? "[green]yes[/]" : "[red]no[/]",
                m.Roles.Count == 0 ? "[dim]-[/]" : Markup.Escape(string.Join(",", m.Roles)),
                $"[dim]{marks}[/]");
        }
        Output.Out.Write(table);
        return 0;
    }, ct);

    public static Task<int> ClusterCommandAsync(ClientTarget target, string action, string address, bool json, CancellationToken ct) => Guard(async () =>
    {
        Method method = action == "leave" ? new ClusterLeaveMethod(address) : new ClusterDownMethod(address);
        var r = await target.QueryAsync<ClusterCommandEvent>(method, ct);
        if (json) { Output.Json(r); return 0; }
        Output.Out.WriteLine(r.Message);
        return 0;
    }, ct);

    public static Task<int> ShardsAsync(ClientTarget target, bool json, CancellationToken ct) => Guard(async () =>
    {
        var s = await target.QueryAsync<ShardsEvent>(new ShardsMethod(), ct);
        if (json) { Output.Json(s); return 0; }
        var failed = false;
        foreach (var region in s.Regions)
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"region [bold]{Markup.Escape(region.Region)}[/]")
                .AddColumn("NODE").AddColumn(new TableColumn("SHARDS").RightAligned()).AddColumn(new TableColumn("ENTITIES").RightAligned()).AddColumn("SHARD:ENTITIES");
            foreach (var n in region.Nodes)
            {
                failed |= n.Error is not null;
                table.AddRow(
                    Markup.Escape(n.Address),
                    n.Shards.ToString(),
                    n.Entities.ToString(),
                    n.Error is { } e ? $"[red]{Markup.Escape(e)}[/]"
                        : n.ShardList.Count == 0 ? "[dim]-[/]"
                        : Markup.Escape(string.Join(" ", n.ShardList.Select(x => $"{x.ShardId}:{x.Entities}"))));
            }
            if (region.Nodes.Count == 0) table.AddRow("[dim]no regions[/]", "0", "0", "");
            Output.Out.Write(table);
        }
        return failed ? 1 : 0;
    }, ct);

    /// <summary>`yoi stop NAME`: attach (never creates), send `shutdown`, wait for the Worker's `shutdown`.</summary>
    public static Task<int> StopAsync(ClientTarget target, string name, CancellationToken ct) => Guard(async () =>
    {
        if (WorkerName.Validate(name) is { } nameError) throw new CliException(nameError, 2);
        await using var client = await target.ConnectAsync(ct);
        var renderer = EventRenderer.ForRun();
        if (await RunCommand.AttachAsync(client, name, null, renderer, ct) is null) return 1;
        await client.SendAsync(new ShutdownMethod(), ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await client.ReadAsync(timeout.Token) is { } evt)
        {
            if (evt is ShutdownEvent)
            {
                Output.Out.MarkupLine($"stopped [bold]{Markup.Escape(name)}[/]");
                return 0;
            }
            if (evt is ErrorEvent e) throw new CliException($"{Output.Code(e.Code)}: {e.Message}");
        }
        Output.Out.MarkupLine($"stopped [bold]{Markup.Escape(name)}[/] [dim](connection closed)[/]");
        return 0;
    }, ct);
}
