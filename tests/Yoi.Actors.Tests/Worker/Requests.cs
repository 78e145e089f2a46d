using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

public static class Requests
{
    /// <summary>The text of every item of a request, one line each ("role: text").</summary>
    public static List<string> Lines(ModelRequest r) => r.Items.Select(i => i switch
    {
        MessageItem m => $"{m.Role.ToString().ToLowerInvariant()}: {m.PlainText}",
        ToolCallItem c => $"tool_call {c.CallId} {c.Name} {c.Arguments}",
        ToolResultItem t => $"tool_result {t.CallId}: {t.ModelText}",
        ReasoningItem re => $"reasoning: {re.Text}",
        _ => i.ToString()!,
    }).ToList();

    public static string Text(ModelRequest r) => string.Join("\n", Lines(r));
}
