using Yoi.Actors.Scope;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Scope;

/// <summary>reference-delegation §4.2–4.3 and acceptance 37–38.</summary>
public sealed class ScopePolicyTests : IDisposable
{
    private readonly TempTree _t = new();

    public void Dispose() => _t.Dispose();

    [Fact]
    public void Acceptance37_deny_read_is_none_deny_write_caps_at_read_elsewhere_write()
    {
        var ws = _t.Dir("ws");
        var policy = new ScopePolicy(new ScopeConfig([Allow(ws)],
            [new ScopeRule(ws + "/secret", Permission.Read), new ScopeRule(ws + "/ro", Permission.Write)]));
        Assert.Equal(Access.None, policy.PermissionAt(ws + "/secret/k"));
        Assert.Equal(Access.Read, policy.PermissionAt(ws + "/ro/f"));
        Assert.Equal(Access.Write, policy.PermissionAt(ws + "/f"));
    }

    [Fact]
    public void Acceptance38_non_recursive_allow_covers_direct_children_only()
    {
        var ws = _t.Dir("ws");
        _t.File("ws/top.txt");
        _t.File("ws/d/deep.txt");
        var workspace = new Workspace(ws, new ScopeConfig([Allow(ws, recursive: false)], []));
        var policy = workspace.Policy();
        Assert.Equal(Access.Write, policy.PermissionAt(ws + "/top.txt"));
        Assert.Equal(Access.None, policy.PermissionAt(ws + "/d/deep.txt"));
        Assert.Equal(Access.Write, workspace.Check("top.txt", Permission.Write).Exists ? Access.Write : Access.None);
    }

    [Fact]
    public void Missing_paths_resolve_through_the_nearest_existing_ancestor()
    {
        var ws = _t.Dir("ws");
        Assert.Equal(ws + "/new/deeper/file.txt", PathResolution.Resolve(ws + "/new/deeper/file.txt"));
        Assert.Null(PathResolution.Resolve(ws + "/new/../x")); // `..` in the missing tail is unresolvable
        Assert.Equal("/etc/passwd", PathResolution.Resolve(ws + "/../../../../../../../../etc/passwd"));
    }

    [Fact]
    public void Traversal_in_an_absolute_query_is_evaluated_where_it_lands()
    {
        var ws = _t.Dir("ws");
        _t.Dir("ws/sub");
        var policy = new ScopePolicy(new ScopeConfig([Allow(ws)], []));
        Assert.Equal(Access.None, policy.PermissionAt(ws + "/../../etc/passwd"));
        Assert.Equal(Access.None, policy.PermissionAt(ws + "/missing/../f")); // `..` after a missing component: unresolvable
        Assert.Equal(Access.Write, policy.PermissionAt(ws + "/sub/../f"));
    }

    [Fact]
    public void Comparison_is_component_wise()
    {
        var ab = _t.Dir("a/b");
        _t.Dir("a/bc");
        var policy = new ScopePolicy(new ScopeConfig([Allow(ab)], []));
        Assert.Equal(Access.None, policy.PermissionAt(_t.P("a/bc/x")));
        Assert.Equal(Access.Write, policy.PermissionAt(_t.P("a/b/x")));
    }

    [Fact]
    public void Maximum_of_allows_and_minimum_of_denies()
    {
        var ws = _t.Dir("ws");
        var policy = new ScopePolicy(new ScopeConfig(
            [Allow(ws, Permission.Read), Allow(ws + "/notes")],
            [new ScopeRule(ws + "/notes/locked", Permission.Write), new ScopeRule(ws + "/notes/locked/hidden", Permission.Read)]));
        Assert.Equal(Access.Read, policy.PermissionAt(ws + "/src/x"));
        Assert.Equal(Access.Write, policy.PermissionAt(ws + "/notes/x"));
        Assert.Equal(Access.Read, policy.PermissionAt(ws + "/notes/locked/x"));
        Assert.Equal(Access.None, policy.PermissionAt(ws + "/notes/locked/hidden/x"));
    }

    [Fact]
    public void Symlinked_rule_targets_are_canonicalised()
    {
        var real = _t.Dir("real");
        _t.Link("alias", real);
        var policy = new ScopePolicy(new ScopeConfig([Allow(_t.P("alias"))], []));
        Assert.Equal(Access.Write, policy.PermissionAt(real + "/f"));
    }

    [Fact]
    public void Write_loans_are_deny_write_layers()
    {
        var ws = _t.Dir("ws");
        var loans = new Loans([new ScopeRule(ws + "/sub", Permission.Write)]);
        var workspace = new Workspace(ws, new ScopeConfig([Allow(ws)], []), loans: loans);
        Assert.Equal(Access.Read, workspace.Policy().PermissionAt(ws + "/sub/f"));
        Assert.Equal(Access.Write, workspace.Policy().PermissionAt(ws + "/other/f"));
    }

    [Fact]
    public void Scope_summary_lists_rules_by_kind()
    {
        var summary = Workspace.Summary(new ScopeConfig([Allow("/repo")], [new ScopeRule("/repo/.env", Permission.Read, false)]));
        Assert.Equal("Writable:\n  - /repo\nDenied:\n  - /repo/.env (non-recursive)", summary);
    }

    public sealed class Loans(IReadOnlyList<ScopeRule> rules) : IWriteLoans
    {
        public bool AnyWriteLoan => rules.Count > 0;
        public IReadOnlyList<ScopeRule> LoanedWriteRules => rules;
    }
}
