using Yoi.Actors.Engine;
using Yoi.Actors.Scope;
using Yoi.Actors.Tests.Scope;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Tools;

/// <summary>Glob and Grep (reference-delegation §7).</summary>
public sealed class SearchToolTests : IDisposable
{
    private readonly TempTree _t = new();
    private readonly Dictionary<string, ITool> _tools;

    public SearchToolTests()
    {
        var ws = _t.Dir("ws");
        _t.File("ws/src/a.cs", "class A {}\n// TODO one\n");
        _t.File("ws/src/b.cs", "class B {}\n");
        _t.File("ws/src/deep/c.cs", "class C {}\nint x;\n// TODO two\nint y;\n");
        _t.File("ws/README.md", "# Readme\nTODO three\n");
        _t.File("ws/.hidden/h.cs", "class H {} // TODO hidden\n");
        _t.File("ws/.gitignore", "build/\n*.log\n");
        _t.File("ws/build/out.cs", "class Out {} // TODO built\n");
        _t.File("ws/app.log", "TODO log\n");
        File.WriteAllBytes(_t.P("ws/bin.dat"), [0x54, 0x4f, 0x44, 0x4f, 0x00, 0x01]);
        _tools = ToolSet(new Workspace(ws, new ScopeConfig([Allow(ws)], [])));
    }

    public void Dispose() => _t.Dispose();

    [Fact]
    public async Task Glob_lists_sorted_workspace_relative_paths_including_hidden_but_not_ignored()
    {
        var o = await Run(_tools["Glob"], new { pattern = "**/*.cs" });
        Assert.Equal("Found 4 file(s) matching `**/*.cs`", o.Summary);
        Assert.Equal(".hidden/h.cs\nsrc/a.cs\nsrc/b.cs\nsrc/deep/c.cs", o.Content);
        o = await Run(_tools["Glob"], new { pattern = "*.cs", path = "src" });
        Assert.Equal("src/a.cs\nsrc/b.cs\nsrc/deep/c.cs", o.Content);
        o = await Run(_tools["Glob"], new { pattern = "deep/*.cs", path = "src" });
        Assert.Equal("src/deep/c.cs", o.Content);
        o = await Run(_tools["Glob"], new { pattern = "*.rs" });
        Assert.Equal("No files found matching `*.rs`", o.Summary);
        Assert.Null(o.Content);
    }

    [Fact]
    public async Task Glob_caps_at_1000()
    {
        _t.Dir("ws/many");
        for (var i = 0; i < 1005; i++) File.WriteAllText(_t.P($"ws/many/f{i:0000}.txt"), "");
        var o = await Run(_tools["Glob"], new { pattern = "many/*.txt" });
        Assert.Equal("Found 1000+ files matching `many/*.txt` (truncated to 1000)", o.Summary);
        Assert.Equal(1000, o.Content!.Split('\n').Length);
        Assert.Equal("many/f0000.txt", o.Content.Split('\n')[0]);
    }

    [Fact]
    public async Task Grep_files_with_matches_skips_hidden_ignored_and_binary()
    {
        var o = await Run(_tools["Grep"], new { pattern = "TODO" });
        Assert.Equal("Found matches in 3 file(s)", o.Summary);
        Assert.Equal("README.md\nsrc/a.cs\nsrc/deep/c.cs", o.Content);
    }

    [Fact]
    public async Task Grep_content_with_context_and_count_mode()
    {
        var o = await Run(_tools["Grep"], ToolKit.Json("""{"pattern":"TODO","path":"src","output_mode":"content","-B":1}"""));
        Assert.Equal("2 matching line(s) in 2 file(s)", o.Summary);
        Assert.Equal("src/a.cs-1-class A {}\nsrc/a.cs:2:// TODO one\nsrc/deep/c.cs-2-int x;\nsrc/deep/c.cs:3:// TODO two", o.Content);
        o = await Run(_tools["Grep"], new { pattern = "class", output_mode = "count", type = "cs" });
        Assert.Equal("Found 3 total line(s) in 3 file(s)", o.Summary);
        Assert.Equal("src/a.cs:1\nsrc/b.cs:1\nsrc/deep/c.cs:1", o.Content);
    }

    [Fact]
    public async Task Grep_options_case_glob_multiline_head_limit_and_offset()
    {
        Assert.Equal("No files matched `todo`", (await Run(_tools["Grep"], new { pattern = "todo" })).Summary);
        Assert.Equal("Found matches in 3 file(s)", (await Run(_tools["Grep"], new { pattern = "todo", case_insensitive = true })).Summary);
        Assert.Equal("README.md", (await Run(_tools["Grep"], new { pattern = "TODO", glob = "*.md" })).Content);
        var o = await Run(_tools["Grep"], new { pattern = "x;\\n// TODO", multiline = true, output_mode = "content" });
        Assert.Equal("src/deep/c.cs:2:int x;\nsrc/deep/c.cs:3:// TODO two", o.Content);
        o = await Run(_tools["Grep"], new { pattern = "TODO", head_limit = 1, offset = 1 });
        Assert.Equal("Found matches in 3 file(s) (truncated at 1)", o.Summary);
        Assert.Equal("src/a.cs", o.Content);
        Assert.Contains("invalid regex", (await Fails(_tools["Grep"], new { pattern = "(" })).Message);
    }
}
