using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Yoi.Messages;

namespace Yoi.Actors.Compaction;

/// <summary>Where a token figure comes from (reference-engine §7.2).</summary>
public enum TokenSource { Measured, Interpolated, Extrapolated, NoData }

public readonly record struct TokenEstimate(ulong Tokens, TokenSource Source);

/// <summary>Token accounting (reference-engine §7): byte sizes of engine-form items, prefix sums, and
/// <c>tokens_at(i)</c> from usage records (measured, interpolated, extrapolated, or bytes/4 without data).</summary>
public static class TokenAccounting
{
    private static readonly ConditionalWeakTable<HistoryItem, StrongBox<int>> Cache = new();
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Length of the compact engine-form JSON of <paramref name="item"/> (tag `type`, optional fields omitted).</summary>
    public static int Bytes(HistoryItem item) => Cache.GetValue(item, i => new StrongBox<int>(EngineFormJson(i).Length)).Value;

    /// <summary>The engine-form JSON (UTF-8), e.g. <c>{"type":"message","role":"user","content":[{"type":"text","text":"hi"}]}</c>.</summary>
    public static byte[] EngineFormJson(HistoryItem item)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Writer))
        {
            w.WriteStartObject();
            switch (item)
            {
                case MessageItem m:
                    w.WriteString("type", "message");
                    w.WriteString("role", m.Role switch { Role.User => "user", Role.Assistant => "assistant", _ => "system" });
                    w.WriteStartArray("content");
                    foreach (var part in m.Content)
                    {
                        w.WriteStartObject();
                        if (part is TextPart t) { w.WriteString("type", "text"); w.WriteString("text", t.Text); }
                        else if (part is RefusalPart r) { w.WriteString("type", "refusal"); w.WriteString("refusal", r.Refusal); }
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    break;
                case ToolCallItem c:
                    w.WriteString("type", "tool_call");
                    w.WriteString("call_id", c.CallId);
                    w.WriteString("name", c.Name);
                    w.WriteString("arguments", c.Arguments);
                    break;
                case ToolResultItem r:
                    w.WriteString("type", "tool_result");
                    w.WriteString("call_id", r.CallId);
                    w.WriteString("summary", r.Summary);
                    if (r.Content is not null) w.WriteString("content", r.Content);
                    if (r.IsError) w.WriteBoolean("is_error", true);
                    if (r.Attachments is { Count: > 0 } a)
                    {
                        w.WriteStartArray("attachments");
                        foreach (var att in a)
                        {
                            w.WriteStartObject();
                            w.WriteString("mime_type", att.MimeType);
                            w.WriteString("data", att.Data);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                    break;
                case ReasoningItem re:
                    w.WriteString("type", "reasoning");
                    w.WriteString("text", re.Text);
                    if (re.Summary is { Count: > 0 } s)
                    {
                        w.WriteStartArray("summary");
                        foreach (var x in s) w.WriteStringValue(x);
                        w.WriteEndArray();
                    }
                    if (re.EncryptedContent is not null) w.WriteString("encrypted_content", re.EncryptedContent);
                    if (re.Signature is not null) w.WriteString("signature", re.Signature);
                    break;
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    /// <summary><c>prefix[i]</c> = bytes of the first i items; length n + 1.</summary>
    public static long[] Prefix(IReadOnlyList<HistoryItem> items)
    {
        var prefix = new long[items.Count + 1];
        for (var i = 0; i < items.Count; i++) prefix[i + 1] = prefix[i] + Bytes(items[i]);
        return prefix;
    }

    public static TokenEstimate TokensAt(IReadOnlyList<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records, int i) =>
        TokensAt(Prefix(items), records, i);

    /// <summary><c>tokens_at(i)</c> (reference-engine §7.2). Records whose history_len lies beyond the prefix are ignored.</summary>
    public static TokenEstimate TokensAt(long[] prefix, IReadOnlyList<LlmUsageEntry> records, int i)
    {
        if (i == 0) return new(0, TokenSource.Measured);
        if (records.Count == 0) return new((ulong)(prefix[i] / 4), TokenSource.NoData);
        LlmUsageEntry? lower = null, upper = null;
        for (var k = records.Count - 1; k >= 0; k--) // newest first: the newest record wins ties
        {
            var r = records[k];
            var len = (long)r.HistoryLen;
            if (len >= prefix.Length) continue;
            if (len == i) return new(r.InputTotalTokens, TokenSource.Measured);
            if (len < i && (lower is null || len > (long)lower.HistoryLen)) lower = r;
            if (len > i && (upper is null || len < (long)upper.HistoryLen)) upper = r;
        }
        if (lower is not null && upper is not null)
        {
            var spanBytes = prefix[upper.HistoryLen] - prefix[lower.HistoryLen];
            var spanTokens = (long)upper.InputTotalTokens - (long)lower.InputTotalTokens;
            if (spanBytes == 0 || spanTokens == 0) return new(lower.InputTotalTokens, TokenSource.Interpolated);
            var value = (long)lower.InputTotalTokens + (prefix[i] - prefix[lower.HistoryLen]) * spanTokens / spanBytes;
            return new((ulong)Math.Max(0, value), TokenSource.Interpolated);
        }
        if (lower is not null)
            return new(lower.InputTotalTokens + (ulong)((prefix[i] - prefix[lower.HistoryLen]) / 4), TokenSource.Extrapolated);
        if (upper is not null)
        {
            var den = prefix[upper.HistoryLen];
            return new(den == 0 ? 0 : (ulong)(prefix[i] * (long)upper.InputTotalTokens / den), TokenSource.Interpolated);
        }
        return new((ulong)(prefix[i] / 4), TokenSource.NoData); // every record lies beyond this history
    }

    /// <summary><c>total_tokens()</c> = <c>tokens_at(history.len)</c>.</summary>
    public static TokenEstimate Total(IReadOnlyList<HistoryItem> items, IReadOnlyList<LlmUsageEntry> records) =>
        TokensAt(Prefix(items), records, items.Count);
}
