using Yoi.Messages;

namespace Yoi.Actors.Scope;

/// <summary>The effective permission at a path: <c>None</c> means no access at all. Rules are
/// <see cref="ScopeRule"/> (Yoi.Messages): an absolute target, Read &lt; Write, recursive (the target and everything
/// below) or not (the target and its direct children only).</summary>
public enum Access { None = 0, Read = 1, Write = 2 }

public static class AccessExtensions
{
    public static Access ToAccess(this Permission p) => p == Permission.Write ? Access.Write : Access.Read;

    public static bool Covers(this Access a, Permission needed) => a >= needed.ToAccess();
}

/// <summary><c>scope</c> / <c>delegation_scope</c> of a manifest.</summary>
public sealed record ScopeConfig(IReadOnlyList<ScopeRule> Allow, IReadOnlyList<ScopeRule> Deny)
{
    public static ScopeConfig Empty { get; } = new([], []);

    public bool IsEmpty => Allow.Count == 0;
}

/// <summary>The delegation hook: write scope lent to children. Each loaned rule is a <c>deny(Write)</c> layer on the
/// lender's own scope (§4.6), and while any loan is held, Bash is refused (the HEAD lease rule, spec README
/// "beyond the reference" 7). Delegation implements this; until then a Worker holds no loans.</summary>
public interface IWriteLoans
{
    bool AnyWriteLoan { get; }

    /// <summary>The targets currently lent out with Write permission.</summary>
    IReadOnlyList<ScopeRule> LoanedWriteRules { get; }
}

public sealed class NoWriteLoans : IWriteLoans
{
    public static NoWriteLoans Instance { get; } = new();
    public bool AnyWriteLoan => false;
    public IReadOnlyList<ScopeRule> LoanedWriteRules => [];
}

/// <summary>A scope rule with its target resolved (§4.2).</summary>
public sealed record ResolvedRule(string Target, Permission Permission, bool Recursive);
