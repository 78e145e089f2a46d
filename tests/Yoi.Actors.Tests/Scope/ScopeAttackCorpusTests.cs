using Yoi.Actors.Engine;
using Yoi.Actors.Scope;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Scope;

/// <summary>The attack tree, built once: a workspace with denied and read-only parts, links to outside, links
/// inside, a sibling with a prefix name, and a second workspace under a non-recursive rule.</summary>
public sealed class AttackTree : IDisposable
{
    public TempTree T { get; } = new();
    public string Ws { get; }
    public string Nr { get; }

    public AttackTree()
    {
        Ws = T.Dir("ws");
        T.File("ws/a.txt", "inside\n");
        T.File("ws/sub/b.txt");
        T.File("ws/secret/k.txt", "SECRET\n");
        T.File("ws/ro/f.txt", "read only\n");
        T.File("ws/nrsecret/k.txt", "nr secret\n");
        T.File("ws/nrsecret/sub/z.txt");
        T.File("outside/o.txt", "OUTSIDE\n");
        T.File("outside/dir/x.txt", "OUTSIDE X\n");
        T.File("ws2/x.txt", "SIBLING\n");
        T.Link("ws/link_out_file", T.P("outside/o.txt"));
        T.Link("ws/link_out_dir", T.P("outside"));
        T.Link("ws/link_passwd", "/etc/passwd");
        T.Link("ws/link_secret", T.P("ws/secret/k.txt"));
        T.Link("ws/link_secretdir", T.P("ws/secret"));
        T.Link("ws/link_ro", T.P("ws/ro/f.txt"));
        T.Link("ws/link_rodir", T.P("ws/ro"));
        T.Link("ws/link_broken", T.P("nowhere/none.txt"));
        T.Link("ws/link_parent", "..");
        T.Link("ws/link_root", "/");
        T.Link("ws/link_etc", "/etc");
        T.Link("ws/sub/link_up", "../..");
        T.Link("ws/link_ws2", T.P("ws2"));
        T.Link("ws/link_in_file", T.P("ws/a.txt"));

        Nr = T.Dir("nr");
        T.File("nr/top.txt");
        T.File("nr/d/deep.txt", "deep\n");
        T.File("nr/d/e/deeper.txt");
        T.Link("nr/link_deep", T.P("nr/d/deep.txt"));
    }

    public Dictionary<string, ITool> Main() => ToolSet(new Workspace(Ws, new ScopeConfig([Allow(Ws)],
        [new ScopeRule(Ws + "/secret", Permission.Read), new ScopeRule(Ws + "/ro", Permission.Write),
         new ScopeRule(Ws + "/nrsecret", Permission.Read, Recursive: false)])));

    public Dictionary<string, ITool> NonRecursive() => ToolSet(new Workspace(Nr, new ScopeConfig([Allow(Nr, recursive: false)], [])));

    public void Dispose() => T.Dispose();
}

/// <summary>≥ 50 scope-escape attempts on a real filesystem, each refused with the §4.9a catalogue's message.</summary>
public sealed class ScopeAttackCorpusTests(AttackTree tree) : IClassFixture<AttackTree>
{
    private const string Invalid = "invalid Workdir path";
    private const string Outside = "path is outside allowed scope: ";
    private const string ReadOnly = "path is read-only: ";
    private const string LinkRead = "resolves through a symlink outside allowed read scope";
    private const string LinkWrite = "resolves through a symlink outside allowed write scope";
    private const string Broken = "is a broken symlink";
    private const string NoFollow = "does not follow symlink directories";

    public static TheoryData<string, string, string, string, string> Cases() => new()
    {
        // ---- traversal and absolute paths: rejected as logical paths
        { "01", "main", "Read", """{"file_path":"../outside/o.txt"}""", Invalid },
        { "02", "main", "Read", """{"file_path":"../../../../etc/passwd"}""", Invalid },
        { "03", "main", "Read", """{"file_path":"/etc/passwd"}""", Invalid },
        { "04", "main", "Read", """{"file_path":"@WS/a.txt"}""", Invalid },
        { "05", "main", "Read", """{"file_path":"sub/../../outside/o.txt"}""", Invalid },
        { "06", "main", "Read", """{"file_path":"sub\\..\\..\\outside\\o.txt"}""", Invalid },
        { "07", "main", "Write", """{"file_path":"../outside/new.txt","content":"pwn"}""", Invalid },
        { "08", "main", "Write", """{"file_path":"/tmp/yoi-evil.txt","content":"pwn"}""", Invalid },
        { "09", "main", "Edit", """{"file_path":"../outside/o.txt","old_string":"OUTSIDE","new_string":"pwn"}""", Invalid },
        { "10", "main", "Glob", """{"pattern":"*","path":"../outside"}""", Invalid },
        { "11", "main", "Grep", """{"pattern":"root","path":"/etc"}""", Invalid },
        { "12", "main", "Read", """{"file_path":"./../outside/o.txt"}""", Invalid },
        { "13", "main", "Read", """{"file_path":"sub/./../../ws2/x.txt"}""", Invalid },
        { "14", "main", "Write", """{"file_path":"a/../../ws2/pwn.txt","content":"pwn"}""", Invalid },
        { "15", "main", "Glob", """{"pattern":"**/*","path":"/"}""", Invalid },
        { "16", "main", "Grep", """{"pattern":"x","path":".."}""", Invalid },
        { "17", "main", "Read", """{"file_path":"@OUTSIDE/o.txt"}""", Invalid },
        { "18", "main", "Edit", """{"file_path":"/etc/hosts","old_string":"a","new_string":"b"}""", Invalid },
        // ---- a direct symlink whose target is outside the needed permission
        { "19", "main", "Read", """{"file_path":"link_out_file"}""", LinkRead },
        { "20", "main", "Write", """{"file_path":"link_out_file","content":"pwn"}""", LinkWrite },
        { "21", "main", "Edit", """{"file_path":"link_out_file","old_string":"OUTSIDE","new_string":"pwn"}""", LinkWrite },
        { "22", "main", "Read", """{"file_path":"link_passwd"}""", LinkRead },
        { "23", "main", "Read", """{"file_path":"link_secret"}""", LinkRead },
        { "24", "main", "Write", """{"file_path":"link_ro","content":"pwn"}""", LinkWrite },
        { "25", "main", "Read", """{"file_path":"link_out_dir"}""", LinkRead },
        { "26", "main", "Read", """{"file_path":"link_broken"}""", Broken },
        { "27", "main", "Write", """{"file_path":"link_broken","content":"pwn"}""", Broken },
        // ---- symlinked directories on the way (resolved by canonicalisation)
        { "28", "main", "Read", """{"file_path":"link_out_dir/o.txt"}""", Outside + "link_out_dir/o.txt" },
        { "29", "main", "Read", """{"file_path":"link_out_dir/dir/x.txt"}""", Outside + "link_out_dir/dir/x.txt" },
        { "30", "main", "Write", """{"file_path":"link_out_dir/new.txt","content":"pwn"}""", LinkWrite },
        { "31", "main", "Write", """{"file_path":"link_out_dir/dir/x.txt","content":"pwn"}""", Outside + "link_out_dir/dir/x.txt" },
        { "32", "main", "Read", """{"file_path":"link_parent/outside/o.txt"}""", Outside + "link_parent/outside/o.txt" },
        { "33", "main", "Read", """{"file_path":"link_root/etc/passwd"}""", Outside + "link_root/etc/passwd" },
        { "34", "main", "Read", """{"file_path":"sub/link_up/outside/o.txt"}""", Outside + "sub/link_up/outside/o.txt" },
        { "35", "main", "Read", """{"file_path":"link_etc/passwd"}""", Outside + "link_etc/passwd" },
        { "36", "main", "Read", """{"file_path":"link_ws2/x.txt"}""", Outside + "link_ws2/x.txt" },
        { "37", "main", "Write", """{"file_path":"link_ws2/pwn.txt","content":"pwn"}""", LinkWrite },
        { "38", "main", "Read", """{"file_path":"link_secretdir/k.txt"}""", Outside + "link_secretdir/k.txt" },
        { "39", "main", "Write", """{"file_path":"link_rodir/new.txt","content":"pwn"}""", LinkWrite },
        { "40", "main", "Edit", """{"file_path":"link_rodir/f.txt","old_string":"read","new_string":"pwn"}""", ReadOnly + "link_rodir/f.txt" },
        // ---- Glob / Grep never start in a symlinked directory
        { "41", "main", "Glob", """{"pattern":"*","path":"link_out_dir"}""", NoFollow },
        { "42", "main", "Grep", """{"pattern":"OUTSIDE","path":"link_out_dir"}""", NoFollow },
        { "43", "main", "Glob", """{"pattern":"**/*","path":"link_parent"}""", NoFollow },
        { "44", "main", "Grep", """{"pattern":"root","path":"link_etc"}""", NoFollow },
        { "45", "main", "Grep", """{"pattern":"SECRET","path":"link_secretdir"}""", NoFollow },
        // ---- deny overlaps
        { "46", "main", "Read", """{"file_path":"secret/k.txt"}""", Outside + "secret/k.txt" },
        { "47", "main", "Read", """{"file_path":"./secret//k.txt"}""", Outside + "secret/k.txt" },
        { "48", "main", "Glob", """{"pattern":"*","path":"secret"}""", Outside + "secret" },
        { "49", "main", "Grep", """{"pattern":"SECRET","path":"secret"}""", Outside + "secret" },
        { "50", "main", "Write", """{"file_path":"secret/new.txt","content":"pwn"}""", Outside + "secret" },
        { "51", "main", "Write", """{"file_path":"secret/k.txt","content":"pwn"}""", Outside + "secret/k.txt" },
        { "52", "main", "Write", """{"file_path":"ro/f.txt","content":"pwn"}""", ReadOnly + "ro/f.txt" },
        { "53", "main", "Write", """{"file_path":"ro/new.txt","content":"pwn"}""", ReadOnly + "ro" },
        { "54", "main", "Edit", """{"file_path":"ro/f.txt","old_string":"read","new_string":"pwn"}""", ReadOnly + "ro/f.txt" },
        { "55", "main", "Write", """{"file_path":"ro/deep/new.txt","content":"pwn"}""", ReadOnly + "ro/deep" },
        { "56", "main", "Read", """{"file_path":"nrsecret/k.txt"}""", Outside + "nrsecret/k.txt" },
        { "57", "main", "Read", """{"file_path":"nrsecret"}""", Outside + "nrsecret" },
        // ---- non-recursive allow: direct children only
        { "58", "nr", "Read", """{"file_path":"d/deep.txt"}""", Outside + "d/deep.txt" },
        { "59", "nr", "Write", """{"file_path":"d/deep.txt","content":"pwn"}""", Outside + "d/deep.txt" },
        { "60", "nr", "Write", """{"file_path":"d/new.txt","content":"pwn"}""", Outside + "d/new.txt" },
        { "61", "nr", "Write", """{"file_path":"newdir/x.txt","content":"pwn"}""", Outside + "newdir/x.txt" },
        { "62", "nr", "Edit", """{"file_path":"d/deep.txt","old_string":"deep","new_string":"pwn"}""", Outside + "d/deep.txt" },
        { "63", "nr", "Glob", """{"pattern":"*","path":"d/e"}""", Outside + "d/e" },
        { "64", "nr", "Grep", """{"pattern":"x","path":"d/e"}""", Outside + "d/e" },
        { "65", "nr", "Read", """{"file_path":"link_deep"}""", LinkRead },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Escape_attempt_is_refused_with_the_catalogue_message(string id, string workspace, string tool, string args, string expected)
    {
        var tools = workspace == "nr" ? tree.NonRecursive() : tree.Main();
        var json = args.Replace("@WS", tree.Ws).Replace("@OUTSIDE", tree.T.P("outside"));
        var e = await Fails(tools[tool], Json(json));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"case {id}: expected «{expected}», got «{e.Display}»");
        Assert.Equal(expected == Broken || expected.StartsWith("path") || expected.StartsWith("invalid") || expected.StartsWith("resolves") || expected == NoFollow
            ? ToolErrorKind.InvalidArgument : ToolErrorKind.ExecutionFailed, e.Kind);
        if (!json.Contains(tree.T.P("outside"))) Assert.DoesNotContain(tree.T.P("outside"), e.Message); // link targets never leak
        // Nothing outside was touched.
        Assert.Equal("OUTSIDE\n", File.ReadAllText(tree.T.P("outside/o.txt")));
        Assert.Equal("read only\n", File.ReadAllText(tree.T.P("ws/ro/f.txt")));
        Assert.Equal("SECRET\n", File.ReadAllText(tree.T.P("ws/secret/k.txt")));
        Assert.Equal("deep\n", File.ReadAllText(tree.T.P("nr/d/deep.txt")));
        Assert.False(File.Exists(tree.T.P("outside/new.txt")));
        Assert.False(File.Exists(tree.T.P("ws2/pwn.txt")));
        Assert.False(File.Exists(tree.T.P("ws/ro/new.txt")));
        Assert.False(Directory.Exists(tree.T.P("nr/newdir")));
    }

    [Fact]
    public async Task Allowed_paths_next_to_the_attacks_still_work()
    {
        var tools = tree.Main();
        Assert.Contains("inside", (await Run(tools["Read"], new { file_path = "link_in_file" })).Content);
        Assert.Contains("inside", (await Run(tools["Read"], new { file_path = "a.txt" })).Content);
        Assert.Contains("read only", (await Run(tools["Read"], new { file_path = "ro/f.txt" })).Content);
        Assert.Contains("x", (await Run(tools["Read"], new { file_path = "nrsecret/sub/z.txt" })).Content); // grandchild of a non-recursive deny
        var nr = tree.NonRecursive();
        Assert.Equal("Read 1 line(s) from top.txt", (await Run(nr["Read"], new { file_path = "top.txt" })).Summary);
    }

    [Fact]
    public async Task Glob_and_Grep_silently_skip_unreadable_entries()
    {
        var tools = tree.Main();
        var glob = await Run(tools["Glob"], new { pattern = "**/*.txt" });
        Assert.DoesNotContain("secret/k.txt", glob.Content!.Split('\n'));
        Assert.DoesNotContain("nrsecret/k.txt", glob.Content.Split('\n'));
        Assert.Contains("nrsecret/sub/z.txt", glob.Content.Split('\n'));
        Assert.DoesNotContain("OUTSIDE", glob.Content);
        var grep = await Run(tools["Grep"], new { pattern = "SECRET|OUTSIDE|SIBLING", output_mode = "content" });
        Assert.Equal("No matches for `SECRET|OUTSIDE|SIBLING`", grep.Summary);
    }
}
