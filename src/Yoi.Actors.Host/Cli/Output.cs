using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>The CLI's two Spectre consoles: <see cref="Out"/> (stdout: what a command produces) and
/// <see cref="Err"/> (stderr: progress, dimmed notes, errors). Redirected output gets no ANSI codes and a wide
/// fixed width, so piped text is never wrapped by the console.</summary>
public static class Output
{
    private static IAnsiConsole? _out, _err;

    public static IAnsiConsole Out => _out ??= Create(Console.Out, Console.IsOutputRedirected);
    public static IAnsiConsole Err => _err ??= Create(Console.Error, Console.IsErrorRedirected);

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected) console.Profile.Width = 240;
        return console;
    }

    /// <summary>`yoi: MESSAGE` on stderr.</summary>
    public static void Error(string message) => Err.MarkupLine($"[red]yoi:[/] {Markup.Escape(message)}");

    public static void Note(string message) => Err.MarkupLine($"[dim]{Markup.Escape(message)}[/]");

    public static string Code(ErrorCode code) => Snake(code.ToString());

    public static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary>`--json`: the event's `data`, indented, on stdout.</summary>
    public static void Json(Event evt)
    {
        var node = JsonNode.Parse(evt.Encode())!["data"] ?? new JsonObject();
        Console.Out.WriteLine(node.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    public static string StatusMarkup(string status) => status switch
    {
        "running" => "[green]running[/]",
        "paused" => "[yellow]paused[/]",
        "idle" => "[blue]idle[/]",
        "passive" => "[dim]passive[/]",
        "up" => "[green]up[/]",
        "unreachable" or "down" or "unknown" => $"[red]{status}[/]",
        _ => Markup.Escape(status),
    };

    public static string Shorten(string s, int max)
    {
        s = s.ReplaceLineEndings(" ");
        return s.Length <= max ? s : s[..max] + "…";
    }
}
