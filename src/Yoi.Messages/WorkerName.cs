using System.Text.RegularExpressions;

namespace Yoi.Messages;

/// <summary>A Worker's full name: segments of <c>[A-Za-z0-9._-]</c>, 1–64 chars each, a child's full name being
/// <c>parent/child</c>. The one place the name rule and the name arithmetic (root, short name, parent, child, below)
/// live; messages keep names as strings on the wire.</summary>
public readonly partial record struct WorkerName
{
    public const string Rule = "each segment must match [A-Za-z0-9._-]{1,64}; a child's full name is parent/child";

    /// <summary>The full name. Not validated here: names read back from a journal or an actor path are trusted.</summary>
    public string Value { get; }

    public WorkerName(string value) => Value = value;

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex SegmentRule();

    public static bool IsValidSegment(string? segment) => segment is not null && SegmentRule().IsMatch(segment);

    public static bool IsValid(string? name) => !string.IsNullOrEmpty(name) && name.Split('/').All(IsValidSegment);

    /// <summary>null when valid, else the error message naming the rule.</summary>
    public static string? Validate(string? name) => IsValid(name) ? null : $"invalid worker name `{name}`: {Rule}";

    /// <summary>The top-level Worker of this tree (the first segment).</summary>
    public string Root => Value.IndexOf('/') is var i and >= 0 ? Value[..i] : Value;

    /// <summary>The last segment: the actor name of a child under its parent.</summary>
    public string Short => Value[(Value.LastIndexOf('/') + 1)..];

    public bool IsChild => Value.Contains('/');

    /// <summary>Levels below the root (0 for a top-level Worker).</summary>
    public int Depth => Value.Count(c => c == '/');

    public WorkerName? Parent => IsChild ? new WorkerName(Value[..Value.LastIndexOf('/')]) : null;

    public WorkerName Child(string shortName) => new(Value + "/" + shortName);

    /// <summary>Strictly below <paramref name="ancestor"/> (a descendant, not the Worker itself).</summary>
    public bool IsBelow(WorkerName ancestor) => Value.StartsWith(ancestor.Value + "/", StringComparison.Ordinal);

    /// <summary>The path below <paramref name="ancestor"/> (<c>c1/d1</c>); call only when <see cref="IsBelow"/>.</summary>
    public string RelativeTo(WorkerName ancestor) => Value[(ancestor.Value.Length + 1)..];

    /// <summary>The direct child of <paramref name="ancestor"/> on the way down to this Worker; call only when
    /// <see cref="IsBelow"/>.</summary>
    public WorkerName NextBelow(WorkerName ancestor)
    {
        var rest = RelativeTo(ancestor);
        var slash = rest.IndexOf('/');
        return ancestor.Child(slash < 0 ? rest : rest[..slash]);
    }

    public override string ToString() => Value;

    public static implicit operator string(WorkerName name) => name.Value;
}
