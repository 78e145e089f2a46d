using Yoi.Actors.Host.Endpoint;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi tail NAME [--lines N] [--no-follow]`: attach without creating, print the last N visible entries
/// of the snapshot, then follow the live stream (user input, text, thinking, tools, status) until the Worker
/// shuts down, the connection closes or Ctrl-C.</summary>
public static class TailCommand
{
    public static Task<int> ExecuteAsync(ClientTarget target, string name, int lines, bool follow, CancellationToken ct) =>
        InspectionCommands.Guard(async () =>
        {
            if (WorkerName.Validate(name) is { } nameError) throw new CliException(nameError, 2);
            await using var client = await target.ConnectAsync(ct);
            var renderer = EventRenderer.ForConsole();
            var snapshot = await RunCommand.AttachAsync(client, name, null, renderer, ct);
            if (snapshot is null) return 1;

            Output.Note($"[tail {name} · {Output.Snake(snapshot.Status.ToString())} · {snapshot.Entries.Count} entries]");
            var visible = snapshot.Entries.Where(EventRenderer.IsVisible).ToList();
            foreach (var entry in visible.Skip(Math.Max(0, visible.Count - Math.Max(0, lines)))) renderer.RenderEntry(entry);
            renderer.EndLine();
            if (!follow) return 0;

            try
            {
                while (await client.ReadAsync(ct) is { } evt)
                {
                    renderer.Render(evt);
                    if (evt is ShutdownEvent)
                    {
                        renderer.EndLine();
                        return 0;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                renderer.EndLine();
                return 0; // Ctrl-C ends a tail normally
            }
            renderer.EndLine();
            Output.Error("the node closed the connection");
            return 1;
        }, ct);
}
