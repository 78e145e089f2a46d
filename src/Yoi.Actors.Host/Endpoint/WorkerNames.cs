using System.Text.RegularExpressions;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>Worker names: segments of `[A-Za-z0-9._-]`, 1–64 chars each; a child's full name is `parent/child`.</summary>
public static partial class WorkerNames
{
    public const string Rule = "each segment must match [A-Za-z0-9._-]{1,64}; a child's full name is parent/child";

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Segment();

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Split('/').All(s => Segment().IsMatch(s));

    /// <summary>null when valid, else the error message naming the rule.</summary>
    public static string? Validate(string? name) =>
        IsValid(name) ? null : $"invalid worker name `{name}`: {Rule}";
}
