using System.Text.Json;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Messages;
using F = Yoi.Actors.Tests.Delegation.DelegationNodeFixture;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>SpawnWorker's decisions without a node: the tool's parse (<see cref="SpawnWorkerRequest.Parse"/>) and the
/// plan (<see cref="SpawnPlan.Validate"/>) over a real manifest and a registry folded from journal events.</summary>
public sealed class SpawnPlanTests : IDisposable
{
    private readonly string _ws = Directory.CreateTempSubdirectory("yoi-spawnplan-").FullName;
    private static readonly WorkerName Alice = new("alice");

    public void Dispose() => Directory.Delete(_ws, recursive: true);

    private string Ws => Yoi.Actors.Scope.PathResolution.Resolve(_ws)!;

    private WorkerManifest Manifest(string delegation, string workers = "enabled = true") =>
        ManifestLoader.Parse(F.ParentManifest(Ws, delegation, workers), Ws);

    private static SpawnWorkerRequest Parse(object input, WorkerName? spawner = null) =>
        SpawnWorkerRequest.Parse(JsonSerializer.SerializeToElement(input), spawner ?? Alice);

    private SpawnWorkerRequest Request(string name = "c1", string? cwd = null, string? profile = null, string? instruction = null) =>
        new(name, "do it", [new ScopeRule(Ws, Permission.Write)], cwd, profile ?? "", instruction);

    private static string Refusal(Checked<SpawnPlan> decision)
    {
        Assert.Null(decision.Value);
        Assert.Equal(ToolErrorKind.InvalidArgument, decision.Error!.Kind);
        return decision.Error.Message;
    }

    [Fact]
    public void Parse_refuses_a_child_named_like_its_spawner()
    {
        var e = Assert.Throws<ToolException>(() => Parse(new { name = "c1", task = "t", scope = Array.Empty<object>() }, new WorkerName("alice/c1")));
        Assert.Equal("worker name `c1` collides with spawner's own name", e.Message);
    }

    [Fact]
    public void Parse_refuses_a_name_outside_the_rule_before_reading_the_scope()
    {
        var e = Assert.Throws<ToolException>(() => Parse(new { name = "a/b", task = "t", scope = new[] { new { nope = 1 } } }));
        Assert.Equal("invalid SpawnWorker input: invalid worker name `a/b` (use [A-Za-z0-9._-], 1-64 chars)", e.Message);
    }

    [Fact]
    public void Parse_makes_a_scope_rule_recursive_unless_it_says_otherwise()
    {
        var r = Parse(new { name = "c1", task = "t", scope = new object[] { new { target = "/a", permission = "write" }, new { target = "/b", permission = "read", recursive = false } } });
        Assert.Equal([new ScopeRule("/a", Permission.Write, true), new ScopeRule("/b", Permission.Read, false)], r.Scope);
    }

    [Fact]
    public void Parse_refuses_a_relative_scope_target()
    {
        var e = Assert.Throws<ToolException>(() => Parse(new { name = "c1", task = "t", scope = new[] { new { target = "rel", permission = "read" } } }));
        Assert.Equal("scope.target must be absolute: rel", e.Message);
    }

    [Fact]
    public void A_spawner_without_a_delegation_grant_lends_nothing()
    {
        // The loader refuses such a manifest up front; the plan refuses it again for a manifest built any other way.
        var manifest = Manifest(F.Grant(Ws)) with { DelegationScope = null };
        var message = Refusal(SpawnPlan.Validate(Request(), Alice, manifest, new DelegationState(), [], false));
        Assert.StartsWith("this Worker has no delegation scope grant", message);
    }

    [Fact]
    public void A_rule_outside_the_grant_is_refused()
    {
        var manifest = Manifest(F.Grant(Path.Combine(Ws, "sub")));
        Assert.Equal($"requested child scope {Ws} Write is outside this Worker's delegation scope grant",
            Refusal(SpawnPlan.Validate(Request(), Alice, manifest, new DelegationState(), [], false)));
    }

    [Fact]
    public void The_depth_limit_counts_the_spawners_own_depth()
    {
        var manifest = Manifest(F.Grant(Ws), "enabled = true\nmax_depth = 2");
        Assert.NotNull(SpawnPlan.Validate(Request(), new WorkerName("alice/c1"), manifest, new DelegationState(), [], false).Value);
        Assert.Equal("spawning `c1` would exceed the maximum delegation depth (2; [feature.workers] max_depth)",
            Refusal(SpawnPlan.Validate(Request(), new WorkerName("alice/c1/d1"), manifest, new DelegationState(), [], false)));
    }

    [Fact]
    public void Spawns_under_way_count_against_the_child_limit()
    {
        var manifest = Manifest(F.Grant(Ws), "enabled = true\nmax_children = 2");
        var registry = new DelegationState();
        registry.Apply(new ChildSpawned(1, "alice/c0", [new ScopeRule(Ws, Permission.Read)]));
        Assert.Equal("this Worker already has 2 child Worker(s), the maximum ([feature.workers] max_children = 2); stop one first",
            Refusal(SpawnPlan.Validate(Request("c2"), Alice, manifest, registry, ["alice/c1"], false)));
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public void A_name_registered_pending_or_still_an_actor_is_already_allocated(bool registered, bool pending, bool actor)
    {
        var registry = new DelegationState();
        if (registered) registry.Apply(new ChildSpawned(1, "alice/c1", [new ScopeRule(Ws, Permission.Read)]));
        Assert.Equal("worker `c1` is already allocated",
            Refusal(SpawnPlan.Validate(Request(), Alice, Manifest(F.Grant(Ws)), registry, pending ? ["alice/c1"] : [], actor)));
    }

    [Fact]
    public void A_cwd_outside_the_lent_scope_is_refused()
    {
        var outside = Directory.CreateTempSubdirectory("yoi-spawnplan-out-").FullName;
        try
        {
            var request = new SpawnWorkerRequest("c1", "t", [new ScopeRule(Ws, Permission.Write)], Cwd: outside);
            Assert.Equal($"cwd `{outside}` is outside the child's delegated readable scope",
                Refusal(SpawnPlan.Validate(request, Alice, Manifest(F.Grant(Ws)), new DelegationState(), [], false)));
        }
        finally { Directory.Delete(outside); }
    }

    [Theory]
    [InlineData("default", "no default profile is configured; available: inherit")]
    [InlineData("./p.toml", "profile `./p.toml`: SpawnWorker accepts registry selectors only (default, inherit, builtin:<n>, user:<n>, project:<n>, <n>); available: inherit")]
    [InlineData("team:x", "profile `team:x`: unsupported selector prefix `team`; available: inherit")]
    [InlineData("user:", "profile `user:`: empty profile name; available: inherit")]
    [InlineData("builtin:coder", "profile `builtin:coder` not found; available: inherit")]
    public void Only_inherit_names_a_known_profile(string profile, string message)
    {
        Assert.Null(SpawnPlan.CheckProfile("inherit"));
        Assert.Null(SpawnPlan.CheckProfile(""));
        Assert.Equal(message, SpawnPlan.CheckProfile(profile)!.Message);
    }

    [Fact]
    public void The_child_inherits_the_manifest_with_the_lent_scope_as_its_scope_and_its_grant()
    {
        var sub = Directory.CreateDirectory(Path.Combine(Ws, "sub")).FullName;
        var rules = new List<ScopeRule> { new(Ws, Permission.Write) };
        var request = new SpawnWorkerRequest("c1", "the task", rules, Cwd: sub, Instruction: "be brief");
        var plan = SpawnPlan.Validate(request, Alice, Manifest(F.Grant(Ws)), new DelegationState(), [], false).Value!;

        Assert.Equal("alice/c1", plan.Child);
        Assert.Equal("the task", plan.Task);
        using var doc = JsonDocument.Parse(plan.ManifestJson);
        var child = WorkerManifest.FromJson(doc.RootElement);
        Assert.Equal("alice/c1", child.Name);
        Assert.Equal(rules, child.Scope!.Allow);
        Assert.Equal(rules, child.DelegationScope!.Allow);
        Assert.Equal(sub, child.WorkingDirectory);
        Assert.Equal(Ws, child.WorkspaceRoot);
        Assert.Equal("be brief", child.Engine.Instruction);
    }
}
