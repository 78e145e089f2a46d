using Yoi.Actors.Scope;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>Rule geometry for delegation (reference-delegation §4.4, §4.5): whether a grant contains a request,
/// whether two rules' path sets overlap. Targets are resolved (§4.2) before comparing.</summary>
public static class DelegationCheck
{
    private static string Resolved(string target) => PathResolution.Resolve(target) ?? target;

    /// <summary>§4.4: some allow rule covers the request and no deny rule overlaps it. The Worker's own direct
    /// scope is never consulted.</summary>
    public static bool AllowsRule(ScopeConfig delegation, ScopeRule requested)
    {
        var req = requested with { Target = Resolved(requested.Target) };
        var covered = delegation.Allow.Any(a => Contains(a with { Target = Resolved(a.Target) }, req));
        if (!covered) return false;
        foreach (var d in delegation.Deny)
        {
            if (d.Permission == Permission.Write && req.Permission != Permission.Write) continue;
            if (Overlaps(d with { Target = Resolved(d.Target) }, req)) return false;
        }
        return true;
    }

    /// <summary>(a) permission covers, and the grant's path set contains the request's.</summary>
    public static bool Contains(ScopeRule grant, ScopeRule req)
    {
        if (grant.Permission == Permission.Read && req.Permission == Permission.Write) return false;
        if (grant.Recursive) return PathResolution.IsAtOrUnder(req.Target, grant.Target);
        return !req.Recursive && req.Target == grant.Target;
    }

    /// <summary>Path-set overlap geometry of §4.4(b).</summary>
    public static bool Overlaps(ScopeRule a, ScopeRule b)
    {
        if (a.Recursive && b.Recursive)
            return PathResolution.IsAtOrUnder(a.Target, b.Target) || PathResolution.IsAtOrUnder(b.Target, a.Target);
        if (!a.Recursive && !b.Recursive)
            return a.Target == b.Target || PathResolution.Parent(a.Target) == b.Target || PathResolution.Parent(b.Target) == a.Target;
        var (rec, non) = a.Recursive ? (a, b) : (b, a);
        return PathResolution.IsAtOrUnder(non.Target, rec.Target) || rec.Target == non.Target || PathResolution.Parent(rec.Target) == non.Target;
    }

    /// <summary>`write:/abs[, read:/abs2 [non-recursive]]` or `(none)` (StopWorker's summary).</summary>
    public static string Describe(IEnumerable<ScopeRule> rules)
    {
        var parts = rules.Select(r => $"{(r.Permission == Permission.Write ? "write" : "read")}:{r.Target}{(r.Recursive ? "" : " [non-recursive]")}").ToList();
        return parts.Count == 0 ? "(none)" : string.Join(", ", parts);
    }
}
