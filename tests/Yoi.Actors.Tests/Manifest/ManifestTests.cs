using System.Text.Json;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Actors.Tests.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Manifest;

/// <summary>Manifest layering, validation and profiles (reference-delegation §6).</summary>
public sealed class ManifestTests : IDisposable
{
    private const string Model = "[model]\nscheme = \"anthropic\"\nmodel_id = \"m\"\n";
    private readonly TempTree _t = new();

    public void Dispose() => _t.Dispose();

    private static string Error(Action a) => Assert.Throws<ManifestException>(a).Message;

    [Fact]
    public void Scope_rules_resolve_relative_targets_against_the_manifest_folder()
    {
        _t.Dir("m/repo");
        File.WriteAllText(_t.P("m/w.toml"), Model + """
            [[scope.allow]]
            target = "repo"
            permission = "write"
            [[scope.deny]]
            target = "repo/.env"
            permission = "read"
            recursive = false
            """);
        var m = ManifestLoader.LoadFile(_t.P("m/w.toml"));
        Assert.Equal([new ScopeRule(_t.P("m/repo"), Permission.Write)], m.Scope!.Allow);
        Assert.Equal([new ScopeRule(_t.P("m/repo/.env"), Permission.Read, false)], m.Scope.Deny);
        Assert.Equal("Writable:\n  - " + _t.P("m/repo") + "\nDenied:\n  - " + _t.P("m/repo/.env") + " (non-recursive)\n"
            + BashSandbox.Decide(null).Describe(), BuiltinTools.ScopeSummary(m)); // the last line: which Bash sandbox applies
        // Journaled as JSON and read back unchanged.
        var back = WorkerManifest.FromJson(JsonSerializer.SerializeToElement(m.ToJson()));
        Assert.Equal(m.Scope.Allow, back.Scope!.Allow);
        Assert.Equal(m.Scope.Deny, back.Scope.Deny);
    }

    [Fact]
    public void Layers_concatenate_rules_upper_scalars_win_per_tool_merges()
    {
        _t.Dir("lower/ws");
        _t.Dir("upper/notes");
        File.WriteAllText(_t.P("lower/base.toml"), Model + """
            [engine]
            max_tokens = 100
            [engine.tool_output.per_tool]
            Read = 10
            Grep = 20
            [[scope.allow]]
            target = "ws"
            permission = "read"
            [permissions]
            default_action = "allow"
            [[permissions.rule]]
            tool = "Bash"
            pattern = "git *"
            action = "allow"
            """);
        File.WriteAllText(_t.P("upper/top.toml"), """
            [worker]
            name = "w"
            [engine]
            max_tokens = 200
            [engine.tool_output.per_tool]
            Grep = 30
            [[scope.allow]]
            target = "notes"
            permission = "write"
            [permissions]
            default_action = "deny"
            [[permissions.rule]]
            tool = "Bash"
            pattern = "git reset *"
            action = "deny"
            """);
        var m = ManifestLoader.LoadFiles(_t.P("lower/base.toml"), _t.P("upper/top.toml"));
        Assert.Equal("w", m.Name);
        Assert.Equal(200u, m.Engine.MaxTokens);
        Assert.Equal(10, m.Engine.ToolOutputPerTool!["Read"]);
        Assert.Equal(30, m.Engine.ToolOutputPerTool["Grep"]);
        Assert.Equal([_t.P("lower/ws"), _t.P("upper/notes")], m.Scope!.Allow.Select(r => r.Target)); // each layer's own folder
        Assert.Equal(PermissionAction.Deny, m.Permissions!.DefaultAction);
        Assert.Equal(["git *", "git reset *"], m.Permissions.Rules.Select(r => r.Pattern)); // lower rule first: it wins
        Assert.Equal(_t.P("upper"), m.BaseDir);
    }

    [Theory]
    [InlineData("[[scope.allow]]\ntarget = \"/x\"\npermission = \"admin\"\n", "scope.allow[0].permission")]
    [InlineData("[[scope.allow]]\npermission = \"read\"\n", "scope.allow[0].target is required")]
    [InlineData("[[scope.deny]]\ntarget = \"/x\"\npermission = \"read\"\n", "scope.allow must not be empty")]
    [InlineData("[[scope.allow]]\ntarget = \"/x\"\npermission = \"read\"\nrecursive = \"yes\"\n", "scope.allow[0].recursive")]
    [InlineData("[scope]\nallow = 3\n", "scope.allow must be an array of tables")]
    [InlineData("[permissions]\n[[permissions.rule]]\ntool = \"Bash\"\naction = \"deny\"\n", "permissions.default_action is required")]
    [InlineData("[permissions]\ndefault_action = \"maybe\"\n", "permissions.default_action")]
    [InlineData("[permissions]\ndefault_action = \"allow\"\n[[permissions.rule]]\ntool = \"Bash\"\naction = \"nope\"\n", "permissions.rule[0].action")]
    [InlineData("[[mcp.stdio_server]]\nname = \"a\"\ncommand = \"x\"\n[[mcp.stdio_server]]\nname = \"a\"\ncommand = \"y\"\n", "mcp.stdio_server[1].name `a` is not unique")]
    [InlineData("[[mcp.stdio_server]]\nname = \"bad name\"\ncommand = \"x\"\n", "mcp.stdio_server[0].name")]
    [InlineData("[[mcp.stdio_server]]\nname = \"a\"\n", "mcp.stdio_server[0].command is required")]
    [InlineData("[compaction]\nprune_protected_turns = 3\n", "compaction.prune_protected_turns")]
    [InlineData("[worker]\nworkspace = \"/definitely/not/here\"\n", "worker.workspace")]
    [InlineData("[engine]\nmax_turns = 0\n", "max_turns")]
    [InlineData("[engine.tool_output]\ndefault_max_bytes = \"big\"\n", "engine.tool_output.default_max_bytes")]
    public void Invalid_manifests_are_rejected_naming_the_key(string toml, string key) =>
        Assert.Contains(key, Error(() => ManifestLoader.Parse(Model + toml, "/tmp")));

    [Fact]
    public void Model_ref_splits_at_the_first_slash()
    {
        var m = ManifestLoader.Parse("[model]\nref = \"openrouter/anthropic/claude-opus-4.8\"\n", "/tmp");
        Assert.Equal(("openrouter", "openai_chat"), (m.Model.Provider, m.Model.Scheme));
        Assert.Equal("anthropic/claude-opus-4.8", m.Model.ModelId);
    }

    [Fact]
    public void Mcp_servers_parse_with_cwd_and_env()
    {
        _t.Dir("srv");
        var m = ManifestLoader.Parse(Model + """
            [[mcp.stdio_server]]
            name = "files"
            command = "node"
            args = ["server.js"]
            cwd = { kind = "path", path = "srv" }
            env.inherit = ["PATH"]
            env.set.TOKEN = { kind = "literal", value = "t" }
            env.set.HOMEDIR = { kind = "env_ref", name = "HOME" }
            """, _t.Root);
        var s = Assert.Single(m.McpServers!);
        Assert.Equal(("files", "node", _t.P("srv")), (s.Name, s.Command, s.Cwd));
        Assert.Equal(["server.js"], s.Args);
        Assert.Equal("t", s.EnvSet!["TOKEN"].Value);
        Assert.Equal("HOME", s.EnvSet["HOMEDIR"].Name);
    }

    [Fact]
    public void Profiles_turn_intents_into_workspace_rules()
    {
        var ws = _t.Dir("ws");
        var read = Profiles.Resolve("scope = \"workspace_read\"\n" + Model, "reviewer", ws);
        Assert.Equal("reviewer", read.Name);
        Assert.Equal([new ScopeRule(ws, Permission.Read)], read.Scope!.Allow);
        Assert.Empty(read.Scope.Deny);

        var write = Profiles.Resolve("""
            scope = { intent = "workspace_write", deny_write = [".worktree", "docs/gen"] }
            delegation_scope = "workspace_read"

            """ + Model, "coder", ws);
        Assert.Equal([new ScopeRule(ws, Permission.Write)], write.Scope!.Allow);
        Assert.Equal([new ScopeRule(ws + "/.worktree", Permission.Write), new ScopeRule(ws + "/docs/gen", Permission.Write)], write.Scope.Deny);
        Assert.Equal([new ScopeRule(ws, Permission.Read)], write.DelegationScope!.Allow);

        var none = Profiles.Resolve(Model, "plain", ws);
        Assert.Null(none.Scope); // no intent: empty scope (no filesystem tools)
        Assert.Empty(BuiltinTools.Create(none));
    }

    [Theory]
    [InlineData("[worker]\nname = \"x\"\n", "`worker`")]
    [InlineData("[[scope.allow]]\ntarget = \"/\"\npermission = \"write\"\n", "scope.allow")]
    [InlineData("scope = \"root_write\"\n", "workspace_read")]
    [InlineData("scope = { intent = \"workspace_write\", deny_write = [\"../x\"] }\n", "deny_write")]
    [InlineData("manifest = \"/etc/m.toml\"\n", "`manifest`")]
    public void Profiles_reject_forbidden_fields(string toml, string key) =>
        Assert.Contains(key, Error(() => Profiles.Resolve(toml + "\n" + Model, "w", _t.Root)));

    [Fact]
    public void Builtin_tools_follow_the_scope()
    {
        var ws = _t.Dir("ws");
        var write = ManifestLoader.Parse(Model + $"[[scope.allow]]\ntarget = \"{ws}\"\npermission = \"write\"\n", "/tmp");
        Assert.Equal(["Bash", "Edit", "Glob", "Grep", "Read", "Write"], BuiltinTools.Create(write).Select(t => t.Name).Order());
        var read = ManifestLoader.Parse(Model + $"[[scope.allow]]\ntarget = \"{ws}\"\npermission = \"read\"\n", "/tmp");
        Assert.Equal(["Glob", "Grep", "Read"], BuiltinTools.Create(read).Select(t => t.Name).Order());
        Assert.Empty(BuiltinTools.Create(ManifestLoader.Parse(Model, "/tmp")));
    }
}
