using Yoi.Actors.Engine;
using Yoi.Actors.Scope;
using Yoi.Actors.Tests.Scope;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Tools;

/// <summary>Read / Write / Edit (reference-delegation §7) and acceptance 39–40.</summary>
public sealed class FileToolTests : IDisposable
{
    private readonly TempTree _t = new();
    private readonly string _ws;
    private readonly Dictionary<string, ITool> _tools;

    public FileToolTests()
    {
        _ws = _t.Dir("ws");
        _tools = ToolSet(new Workspace(_ws, new ScopeConfig([Allow(_ws)], [])));
    }

    public void Dispose() => _t.Dispose();

    [Fact]
    public async Task Acceptance39_symlink_outside_and_invalid_paths()
    {
        _t.File("outside/file", "secret");
        _t.Link("ws/link", _t.P("outside/file"));
        Assert.Contains("symlink outside allowed read scope", (await Fails(_tools["Read"], new { file_path = "link" })).Message);
        Assert.Contains("invalid Workdir path", (await Fails(_tools["Read"], new { file_path = "../x" })).Message);
        Assert.Contains("invalid Workdir path", (await Fails(_tools["Read"], new { file_path = "/etc/passwd" })).Message);
    }

    [Fact]
    public async Task Acceptance40_write_needs_a_read_and_an_unchanged_file()
    {
        _t.File("ws/a.txt", "one\n");
        var e = await Fails(_tools["Write"], new { file_path = "a.txt", content = "two\n" });
        Assert.Contains("read it first", e.Message);
        await Run(_tools["Read"], new { file_path = "a.txt" });
        File.WriteAllText(_t.P("ws/a.txt"), "changed behind our back\n");
        e = await Fails(_tools["Write"], new { file_path = "a.txt", content = "two\n" });
        Assert.Contains("modified externally", e.Message);
        Assert.Equal("changed behind our back\n", File.ReadAllText(_t.P("ws/a.txt")));
    }

    [Fact]
    public async Task Read_numbers_lines_like_cat_n()
    {
        _t.File("ws/f.txt", "alpha\nbeta\r\ngamma\n");
        var o = await Run(_tools["Read"], new { file_path = "f.txt" });
        Assert.Equal("Read 3 line(s) from f.txt", o.Summary);
        Assert.Equal("     1\talpha\n     2\tbeta\n     3\tgamma", o.Content);
    }

    [Fact]
    public async Task Read_offset_and_limit_select_a_window()
    {
        _t.File("ws/f.txt", string.Join("\n", Enumerable.Range(1, 10).Select(i => "line " + i)) + "\n");
        var o = await Run(_tools["Read"], new { file_path = "f.txt", offset = 2, limit = 3 });
        Assert.Equal("Read 3 line(s) [3..5] of 10 from f.txt", o.Summary);
        Assert.Equal("     3\tline 3\n     4\tline 4\n     5\tline 5", o.Content);
        var e = await Fails(_tools["Read"], new { file_path = "f.txt", offset = 11 });
        Assert.Contains("offset 11 exceeds file length 10", e.Message);
        Assert.Equal(ToolErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public async Task Read_caps_output_at_256_KiB()
    {
        _t.File("ws/big.txt", string.Concat(Enumerable.Repeat(new string('é', 999) + "\n", 400)));
        var o = await Run(_tools["Read"], new { file_path = "big.txt" });
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(o.Content!) <= Yoi.Actors.Tools.ReadTool.MaxBytes);
        Assert.StartsWith("Read ", o.Summary);
        Assert.Contains(" of 400 from big.txt", o.Summary);
    }

    [Fact]
    public async Task Read_errors_for_missing_files_and_directories()
    {
        _t.Dir("ws/d");
        var e = await Fails(_tools["Read"], new { file_path = "nope.txt" });
        Assert.Equal("file not found: nope.txt", e.Message);
        Assert.Equal(ToolErrorKind.ExecutionFailed, e.Kind);
        Assert.Contains("expected file but path is a directory", (await Fails(_tools["Read"], new { file_path = "d" })).Message);
    }

    [Fact]
    public async Task Write_creates_files_and_parents_then_overwrites_after_a_read()
    {
        var o = await Run(_tools["Write"], new { file_path = "new/dir/f.txt", content = "hello\n" });
        Assert.Equal("Created new/dir/f.txt (6 bytes)", o.Summary);
        Assert.Null(o.Content);
        Assert.Equal("hello\n", File.ReadAllText(_t.P("ws/new/dir/f.txt")));
        // A file the Worker wrote itself may be overwritten without another Read (the hash is updated).
        o = await Run(_tools["Write"], new { file_path = "new/dir/f.txt", content = "bye" });
        Assert.Equal("Overwrote new/dir/f.txt (3 bytes)", o.Summary);
        Assert.Equal("bye", File.ReadAllText(_t.P("ws/new/dir/f.txt")));
        Assert.Empty(Directory.GetFiles(_t.P("ws/new/dir"), "*.tmp", SearchOption.AllDirectories)); // atomic: no temp left
    }

    [Fact]
    public async Task Write_through_a_link_replaces_the_target_and_refuses_directory_links()
    {
        _t.File("ws/real.txt", "old");
        _t.Link("ws/alias.txt", _t.P("ws/real.txt"));
        _t.Dir("ws/folder");
        _t.Link("ws/dirlink", _t.P("ws/folder"));
        await Run(_tools["Read"], new { file_path = "alias.txt" });
        await Run(_tools["Write"], new { file_path = "alias.txt", content = "new" });
        Assert.Equal("new", File.ReadAllText(_t.P("ws/real.txt")));
        Assert.True(new FileInfo(_t.P("ws/alias.txt")).LinkTarget is not null);
        Assert.Contains("symlink to a directory, but this tool requires a file", (await Fails(_tools["Write"], new { file_path = "dirlink", content = "x" })).Message);
    }

    [Fact]
    public async Task Edit_replaces_once_or_all_and_previews_new_string()
    {
        _t.File("ws/e.txt", "a = 1\nb = 1\nc = 2\n");
        await Run(_tools["Read"], new { file_path = "e.txt" });
        var e = await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "= 1", new_string = "= 3" });
        Assert.Contains("matched 2 times", e.Message);
        Assert.Contains("old_string was not found", (await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "zzz", new_string = "y" })).Message);
        Assert.Contains("must not be empty", (await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "", new_string = "y" })).Message);
        Assert.Contains("identical", (await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "a", new_string = "a" })).Message);

        var o = await Run(_tools["Edit"], new { file_path = "e.txt", old_string = "c = 2", new_string = "c = 20\nd = 1\ne\nf\ng" });
        Assert.Equal("Edited e.txt (1 replacement)", o.Summary);
        Assert.Equal("     1\tc = 20\n     2\td = 1\n     3\te\n     4\tf", o.Content); // first 4 lines of new_string, from 1
        o = await Run(_tools["Edit"], new { file_path = "e.txt", old_string = "= 1", new_string = "= 9", replace_all = true });
        Assert.Equal("Edited e.txt (3 replacements)", o.Summary);
        Assert.Equal("a = 9\nb = 9\nc = 20\nd = 9\ne\nf\ng\n", File.ReadAllText(_t.P("ws/e.txt")));
    }

    [Fact]
    public async Task Edit_requires_a_read_and_refuses_external_changes_and_non_utf8()
    {
        _t.File("ws/e.txt", "x = 1\n");
        Assert.Contains("read it first", (await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "1", new_string = "2" })).Message);
        await Run(_tools["Read"], new { file_path = "e.txt" });
        File.AppendAllText(_t.P("ws/e.txt"), "y\n");
        Assert.Contains("modified externally", (await Fails(_tools["Edit"], new { file_path = "e.txt", old_string = "1", new_string = "2" })).Message);
        File.WriteAllBytes(_t.P("ws/bin.dat"), [0x66, 0xff, 0xfe, 0x0a]);
        await Run(_tools["Read"], new { file_path = "bin.dat" });
        Assert.Contains("not valid UTF-8", (await Fails(_tools["Edit"], new { file_path = "bin.dat", old_string = "f", new_string = "g" })).Message);
    }

    [Fact]
    public async Task Read_only_scope_gets_read_tools_only_and_write_reports_read_only()
    {
        var ws = new Workspace(_ws, new ScopeConfig([Allow(_ws, Permission.Read)], []));
        _t.File("ws/r.txt", "r");
        var tools = ToolSet(ws);
        await Run(tools["Read"], new { file_path = "r.txt" });
        Assert.Equal("path is read-only: r.txt", (await Fails(tools["Write"], new { file_path = "r.txt", content = "w" })).Message);
        Assert.Equal("path is read-only: .", (await Fails(tools["Write"], new { file_path = "n.txt", content = "w" })).Message);
    }

    [Fact]
    public async Task Concurrent_writes_to_one_path_are_serialised()
    {
        var writes = Enumerable.Range(0, 20).Select(i => Run(_tools["Write"], new { file_path = "c.txt", content = new string((char)('a' + i), 5000) }));
        await Task.WhenAll(writes);
        var text = File.ReadAllText(_t.P("ws/c.txt"));
        Assert.Equal(5000, text.Length);
        Assert.Single(text.Distinct());
    }
}
