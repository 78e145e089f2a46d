using System.Text.Json;
using Yoi.Messages;

namespace Yoi.Actors.Engine;

public sealed record ToolCallContext(string CallId, string BatchId, int CallIndex);

/// <summary>What a tool returns: a 1–2 line summary (survives pruning), optional detail content and images.</summary>
public sealed record ToolOutput(string Summary, string? Content = null, IReadOnlyList<ImageAttachment>? Attachments = null)
{
    /// <summary>Plain-string convenience (reference-engine §8.1): ≤ 200 bytes is the summary alone; longer
    /// becomes "N lines | first line (80 chars)…" with the text as content.</summary>
    public static ToolOutput FromText(string text)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= 200) return new ToolOutput(text);
        var lines = text.Split('\n');
        var first = lines[0];
        if (first.Length > 80) first = first[..80];
        return new ToolOutput($"{lines.Length} lines | {first}…", text);
    }
}

public enum ToolErrorKind { InvalidArgument, ExecutionFailed, Internal }

/// <summary>A tool failure; becomes an `is_error` result "Tool execution failed: &lt;Display&gt;".</summary>
public sealed class ToolException(ToolErrorKind kind, string message) : Exception(message)
{
    public ToolErrorKind Kind { get; } = kind;

    public string Display => Kind switch
    {
        ToolErrorKind.InvalidArgument => "Invalid argument: " + Message,
        ToolErrorKind.ExecutionFailed => "Execution failed: " + Message,
        _ => "Internal error: " + Message,
    };
}

public interface ITool
{
    string Name { get; }
    string Description { get; }
    JsonElement InputSchema { get; }

    /// <summary>True for a tool that only reads (no side effect outside the engine): it may run before its call is
    /// durable. Any other tool runs only after the journal holds its call (<see cref="ITurnHost.DurableAsync"/>).</summary>
    bool ReadOnly => false;

    /// <summary>`input` is always a JSON object (normalised by the engine).</summary>
    Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct);
}
