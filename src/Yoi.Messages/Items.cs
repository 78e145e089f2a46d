using System.Text.Json.Serialization;

namespace Yoi.Messages;

public enum Role { User, Assistant, System }

/// <summary>A content part of a message item (logged form, tag `kind`).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(TextPart), "text")]
[JsonDerivedType(typeof(RefusalPart), "refusal")]
public abstract record ContentPart;

public sealed record TextPart(string Text) : ContentPart;

public sealed record RefusalPart(string Refusal) : ContentPart;

/// <summary>One unit of conversation history in its logged form (reference-engine §4.3):
/// tag `kind`, no `id`/`status`; absent optionals omitted.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(MessageItem), "message")]
[JsonDerivedType(typeof(ToolCallItem), "tool_call")]
[JsonDerivedType(typeof(ToolResultItem), "tool_result")]
[JsonDerivedType(typeof(ReasoningItem), "reasoning")]
public abstract record HistoryItem;

/// <summary>Assistant-side items carry <c>stop_reason</c> (spec README item 10): set on the last item committed from a
/// response that stopped for a notable reason (<c>max_tokens</c>, <c>content_filter</c>, <c>refusal</c>,
/// <c>stop_sequence</c>); absent for an ordinary end and in journals written before the field existed.</summary>
public abstract record AssistantSideItem : HistoryItem
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StopReason { get; init; }
}

public sealed record MessageItem(Role Role, IReadOnlyList<ContentPart> Content) : AssistantSideItem
{
    public static MessageItem Text(Role role, string text) => new(role, [new TextPart(text)]);

    /// <summary>Concatenated text of all text parts.</summary>
    [JsonIgnore]
    public string PlainText => string.Concat(Content.OfType<TextPart>().Select(p => p.Text));
}

/// <summary>`arguments` is a compact JSON object string (keys sorted, see ToolArguments), or — when the model sent
/// something that is not a JSON object — that text exactly as sent (spec README item 9; such a call never runs).</summary>
public sealed record ToolCallItem(string CallId, string Name, string Arguments) : AssistantSideItem;

public sealed record ImageAttachment(string MimeType, string Data)
{
    [JsonPropertyName("kind"), JsonPropertyOrder(-1)] public string Kind => "image";
}

public sealed record ToolResultItem(
    string CallId,
    string Summary,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null,
    [property: Json.JsonOmitEmpty] IReadOnlyList<ImageAttachment>? Attachments = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool IsError = false) : HistoryItem
{
    /// <summary>What the model sees: summary alone, or summary + "\n" + content.</summary>
    [JsonIgnore]
    public string ModelText => Content is null ? Summary : Summary + "\n" + Content;
}

public sealed record ReasoningItem(
    string Text,
    [property: Json.JsonOmitEmpty] IReadOnlyList<string>? Summary = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EncryptedContent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Signature = null) : AssistantSideItem;
