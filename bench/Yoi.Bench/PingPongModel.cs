using System.Runtime.CompilerServices;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Bench;

/// <summary>A zero-latency model: when the last item of the request is the user's message it answers with
/// one tool call, otherwise (after the tool result) with text. Stateless, so it costs nothing to build.</summary>
public sealed class PingPongModel : IModelClient
{
    public string Provider => "scripted";
    public string Model => "ping-pong";

    public async IAsyncEnumerable<StreamEvent> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        await Task.CompletedTask;
        if (request.Items.Count > 0 && request.Items[^1] is MessageItem { Role: Role.User })
        {
            var id = "c" + request.Items.Count;
            yield return new BlockStart(0, BlockType.ToolUse, id, "Echo");
            yield return new BlockDelta(0, DeltaKind.InputJson, "{\"text\":\"ping\"}");
            yield return new BlockStop(0, BlockType.ToolUse, StopReason.ToolUse);
            yield return new StreamUsage(100, 10);
        }
        else
        {
            yield return new BlockStart(0, BlockType.Text);
            yield return new BlockDelta(0, DeltaKind.Text, "done");
            yield return new BlockStop(0, BlockType.Text, StopReason.EndTurn);
            yield return new StreamUsage(120, 2);
        }
    }
}
