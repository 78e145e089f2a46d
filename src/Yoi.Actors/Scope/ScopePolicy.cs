using Yoi.Messages;
namespace Yoi.Actors.Scope;

/// <summary>The effective permission at a path (reference-delegation §4.3): the maximum of the matching allow
/// rules, capped by the minimum matching deny (<c>deny(Read)</c> ⇒ none, <c>deny(Write)</c> ⇒ at most Read).
/// Rule targets are resolved (§4.2) when the policy is built; loaned write rules add deny(Write) layers.</summary>
public sealed class ScopePolicy
{
    private readonly (string Target, Permission Permission, bool Recursive)[] _allow;
    private readonly (string Target, Permission Permission, bool Recursive)[] _deny;

    public ScopePolicy(ScopeConfig scope, IEnumerable<ScopeRule>? extraDeny = null)
    {
        _allow = Resolve(scope.Allow);
        _deny = Resolve(scope.Deny.Concat(extraDeny ?? []));
    }

    /// <summary>The allow rules with resolved targets (unresolvable ones dropped), e.g. for the Bash sandbox's mounts.</summary>
    public IReadOnlyList<ResolvedRule> AllowRules => _allow.Select(r => new ResolvedRule(r.Target, r.Permission, r.Recursive)).ToList();

    /// <summary>The deny rules (manifest denies and loaned write rules) with resolved targets.</summary>
    public IReadOnlyList<ResolvedRule> DenyRules => _deny.Select(r => new ResolvedRule(r.Target, r.Permission, r.Recursive)).ToList();

    private static (string, Permission, bool)[] Resolve(IEnumerable<ScopeRule> rules) => rules
        .Select(r => (Target: PathResolution.Resolve(r.Target), r.Permission, r.Recursive))
        .Where(r => r.Target is not null)
        .Select(r => (r.Target!, r.Permission, r.Recursive))
        .ToArray();

    private static bool Matches(string path, string target, bool recursive) =>
        recursive ? PathResolution.IsAtOrUnder(path, target) : path == target || PathResolution.Parent(path) == target;

    /// <summary>Permission at an absolute path, resolving it first (§4.2). Unresolvable ⇒ none.</summary>
    public Access PermissionAt(string absolutePath) =>
        PathResolution.Resolve(absolutePath) is { } resolved ? PermissionAtCanonical(resolved) : Access.None;

    /// <summary>Permission at a path that is already canonical (e.g. an entry found by walking a canonical directory
    /// without following links).</summary>
    public Access PermissionAtCanonical(string path)
    {
        var allowed = Access.None;
        foreach (var (target, permission, recursive) in _allow)
            if (Matches(path, target, recursive) && permission.ToAccess() > allowed) allowed = permission.ToAccess();
        if (allowed == Access.None) return Access.None;
        foreach (var (target, permission, recursive) in _deny)
        {
            if (!Matches(path, target, recursive)) continue;
            if (permission == Permission.Read) return Access.None;
            allowed = Access.Read;
        }
        return allowed;
    }
}
