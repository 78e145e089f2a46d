using System.Text;

namespace Yoi.Actors.Engine;

/// <summary>The engine-level byte cap on tool result <c>content</c> (reference-engine §8.3).</summary>
public static class ToolOutputBounding
{
    /// <summary>Bytes reserved for the suffix: the 55-byte template with its 7-byte placeholder replaced by a
    /// 20-digit worst case.</summary>
    public const int SuffixReserve = 68;

    /// <summary>When <paramref name="content"/> is longer than <paramref name="limit"/> UTF-8 bytes: keeps the first
    /// <c>limit − 68</c> bytes (saturating at 0, walked back to a UTF-8 boundary) and appends
    /// <c>"\n\n[truncated: &lt;dropped&gt; bytes dropped, refine your query]"</c>. Returns null when nothing is cut.</summary>
    public static string? Truncate(string content, int limit)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        if (bytes.Length <= limit) return null;
        var keep = Math.Max(limit - SuffixReserve, 0);
        while (keep > 0 && (bytes[keep] & 0xC0) == 0x80) keep--;
        var dropped = bytes.Length - keep;
        return Encoding.UTF8.GetString(bytes, 0, keep) + $"\n\n[truncated: {dropped} bytes dropped, refine your query]";
    }

    /// <summary>The warning text emitted for one truncation.</summary>
    public static string Warning(string tool, int before, int after, int limit) =>
        $"tool `{tool}` output truncated from {before} to {after} bytes (limit {limit})";
}
