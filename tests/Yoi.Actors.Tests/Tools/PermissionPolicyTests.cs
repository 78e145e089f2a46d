using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Tools;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Tools;

/// <summary>The manifest permission policy (reference-delegation §4.8) and acceptance 41–42.</summary>
public sealed class PermissionPolicyTests
{
    private static PermissionPolicy Policy(string toml) =>
        PermissionPolicy.For(ManifestLoader.Parse("[model]\nscheme = \"anthropic\"\n" + toml, "/tmp"))!;

    private static ToolCallInfo Call(string tool, string args) =>
        new(new ToolCallItem("c1", tool, args), null, Ctx, Json(args));

    [Fact]
    public async Task Acceptance41_first_match_wins()
    {
        var policy = Policy("""
            [permissions]
            default_action = "allow"
            [[permissions.rule]]
            tool = "Bash"
            pattern = "git *"
            action = "allow"
            [[permissions.rule]]
            tool = "Bash"
            pattern = "git reset *"
            action = "deny"
            """);
        Assert.Equal(PreToolAction.Continue, (await policy.PreToolCall(Call("Bash", """{"command":"git reset --hard"}"""))).Action);
    }

    [Fact]
    public async Task Acceptance41_ask_fails_closed()
    {
        var policy = Policy("[permissions]\ndefault_action = \"ask\"\n");
        var d = await policy.PreToolCall(Call("Bash", """{"command":"ls"}"""));
        Assert.Equal(PreToolAction.SyntheticResult, d.Action);
        Assert.True(d.IsError);
        Assert.Contains("denied fail-closed", d.Result!.Summary);
        Assert.StartsWith("permission ask unsupported", d.Result.Summary);
    }

    [Fact]
    public async Task Deny_gives_the_synthetic_permission_denied_result()
    {
        var policy = Policy("""
            [permissions]
            default_action = "allow"
            [[permissions.rule]]
            tool = "bash"
            pattern = "rm -rf ?*"
            action = "deny"
            """);
        var d = await policy.PreToolCall(Call("Bash", """{"command":"rm -rf /"}"""));
        Assert.Equal(PreToolAction.SyntheticResult, d.Action);
        Assert.True(d.IsError);
        Assert.Equal("permission denied: tool `Bash` arguments matched the manifest permission policy", d.Result!.Summary);
        Assert.Equal(PreToolAction.Continue, (await policy.PreToolCall(Call("Bash", """{"command":"rm -rf"}"""))).Action);
    }

    [Fact]
    public void Target_is_the_first_present_string_argument_else_the_json()
    {
        Assert.Equal("ls", PermissionPolicy.Target(Json("""{"path":"p","command":"ls"}""")));
        Assert.Equal("a.txt", PermissionPolicy.Target(Json("""{"content":"x","file_path":"a.txt"}""")));
        Assert.Equal("**/*.cs", PermissionPolicy.Target(Json("""{"pattern":"**/*.cs"}""")));
        Assert.Equal("""{"a":1}""", PermissionPolicy.Target(Json("""{"a":1}""")));
    }

    [Fact]
    public void Rules_match_tool_names_case_insensitively_and_patterns_as_globs()
    {
        var policy = Policy("""
            [permissions]
            default_action = "deny"
            [[permissions.rule]]
            tool = "READ"
            pattern = "src/*"
            action = "allow"
            [[permissions.rule]]
            tool = "Write"
            pattern = "notes/?.md"
            action = "allow"
            """);
        Assert.Equal(PermissionAction.Allow, policy.Decide("Read", Json("""{"file_path":"src/a/b.cs"}""")));
        Assert.Equal(PermissionAction.Deny, policy.Decide("Read", Json("""{"file_path":"docs/a.md"}""")));
        Assert.Equal(PermissionAction.Allow, policy.Decide("Write", Json("""{"file_path":"notes/a.md"}""")));
        Assert.Equal(PermissionAction.Deny, policy.Decide("Write", Json("""{"file_path":"notes/ab.md"}""")));
        Assert.Equal(PermissionAction.Deny, policy.Decide("Bash", Json("""{"command":"ls"}""")));
    }

    [Fact]
    public void No_permissions_section_means_no_policy_layer() =>
        Assert.Null(PermissionPolicy.For(ManifestLoader.Parse("[model]\nscheme = \"anthropic\"\n", "/tmp")));

    [Fact]
    public void Acceptance42_output_cap_keeps_at_most_the_limit_with_the_suffix()
    {
        var content = new string('x', 5000);
        var cut = ToolOutputBounding.Truncate(content, 1024)!;
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(cut) <= 1024);
        Assert.EndsWith($"[truncated: {5000 - (1024 - 68)} bytes dropped, refine your query]", cut);
        var manifest = ManifestLoader.Parse("[model]\nscheme = \"anthropic\"\n[engine.tool_output]\ndefault_max_bytes = 1024\n", "/tmp");
        Assert.Equal(1024, manifest.Engine.ToolOutputDefaultMaxBytes);
    }
}
