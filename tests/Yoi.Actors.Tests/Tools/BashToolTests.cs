using System.Diagnostics;
using System.Text;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Actors.Tests.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Tools;

/// <summary>Bash (reference-engine §8.3; reference-delegation §7 later variant; acceptance 43 adapted to the bounded
/// tail, which this project ships: no spill files).</summary>
public sealed class BashToolTests : IDisposable
{
    private readonly TempTree _t = new();
    private readonly string _ws;
    private readonly BashTool _bash;

    public BashToolTests()
    {
        _ws = _t.Dir("ws");
        _bash = new BashTool(new Workspace(_ws, new ScopeConfig([Allow(_ws)], []), cwd: _t.Dir("ws/cwd")));
    }

    public void Dispose() => _t.Dispose();

    [Fact]
    public async Task Runs_in_the_cwd_with_stdin_at_null_and_merges_stdout_then_stderr()
    {
        var o = await Run(_bash, new { command = "pwd; cat; echo err >&2" });
        Assert.Equal("$ pwd; cat; echo err >&2", o.Summary);
        Assert.Equal(_t.P("ws/cwd") + "\nerr\n", o.Content);
    }

    [Fact]
    public async Task Non_zero_exit_is_in_the_summary_not_an_error()
    {
        var o = await Run(_bash, new { command = "echo out; exit 3" });
        Assert.Equal("$ echo out; exit 3 (exit 3)", o.Summary);
        Assert.Equal("out\n", o.Content);
    }

    [Fact]
    public async Task Empty_output_has_no_content_and_long_commands_are_cut_in_the_summary()
    {
        var cmd = "true # " + new string('x', 150);
        var o = await Run(_bash, new { command = cmd });
        Assert.Null(o.Content);
        Assert.Equal("$ " + cmd[..100] + "…", o.Summary);
    }

    [Fact]
    public async Task Acceptance43_large_output_is_a_bounded_tail_with_the_header_small_output_inline()
    {
        var o = await Run(_bash, new { command = "for i in $(seq 1 200); do printf 'line %03d %s\\n' $i $(printf 'y%.0s' $(seq 1 90)); done" });
        Assert.StartsWith(BashTool.TruncatedHeader, o.Content);
        Assert.True(Encoding.UTF8.GetByteCount(o.Content!) <= BashTool.Budget + BashTool.TruncatedHeader.Length);
        Assert.EndsWith("line 200 " + new string('y', 90) + "\n", o.Content);
        Assert.DoesNotContain("line 001 ", o.Content);
        o = await Run(_bash, new { command = "printf 'a\\nb\\nc\\n'" });
        Assert.Equal("a\nb\nc\n", o.Content);
        Assert.Empty(Directory.GetFileSystemEntries(_t.P("ws/cwd"))); // nothing spilled
    }

    [Fact]
    public async Task Stderr_gets_at_most_half_the_budget()
    {
        var o = await Run(_bash, new { command = "head -c 20000 /dev/zero | tr '\\0' o; head -c 20000 /dev/zero | tr '\\0' e >&2" });
        var body = o.Content![BashTool.TruncatedHeader.Length..];
        Assert.Equal(BashTool.Budget / 2, body.Count(c => c == 'e'));
        Assert.Equal(BashTool.Budget / 2, body.Count(c => c == 'o'));
        o = await Run(_bash, new { command = "head -c 20000 /dev/zero | tr '\\0' o; echo e >&2" });
        Assert.Equal(BashTool.Budget - 2, o.Content![BashTool.TruncatedHeader.Length..].Count(c => c == 'o'));
    }

    [Fact]
    public void Timeout_is_clamped_to_1_600_default_120()
    {
        Assert.Equal(120, BashTool.ClampTimeout(null));
        Assert.Equal(1, BashTool.ClampTimeout(0));
        Assert.Equal(1, BashTool.ClampTimeout(-5));
        Assert.Equal(600, BashTool.ClampTimeout(100000));
        Assert.Equal(42, BashTool.ClampTimeout(42));
    }

    private BashTool Bash(bool sandboxed) => new(new Workspace(_ws, new ScopeConfig([Allow(_ws)], []), cwd: _t.P("ws/cwd")),
        new BashSection(sandboxed ? BashSandboxMode.Required : BashSandboxMode.Off));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Timeout_kills_the_process_tree_and_keeps_partial_output(bool sandboxed)
    {
        var marker = Marker();
        var sw = Stopwatch.StartNew();
        var o = await Run(Bash(sandboxed), new { command = $"echo started; sleep {marker} & wait", timeout = 1 });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), sw.Elapsed.ToString());
        Assert.EndsWith("(timed out after 1s)", o.Summary);
        Assert.Contains("started", o.Content);
        await AssertNoneAliveAsync(marker);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancellation_kills_the_process_tree(bool sandboxed)
    {
        var marker = Marker();
        var started = _t.P("ws/started-" + marker);
        using var cts = new CancellationTokenSource();
        // setsid: a detached grandchild is still inside the sandbox's PID namespace, or the killed process tree.
        var run = Run(Bash(sandboxed), new { command = $"setsid sleep {marker} & touch {started}; wait" }, cts.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(started) || Alive(marker).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the command never started");
            await Task.Delay(20);
        }
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await AssertNoneAliveAsync(marker);
    }

    /// <summary>A unique sleep duration (GNU sleep takes fractions), so its processes can be found on the host.</summary>
    private static string Marker() => "3000." + Random.Shared.Next(100_000, 999_999);

    private static List<int> Alive(string marker)
    {
        var alive = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (!File.ReadAllText(dir + "/cmdline").Replace('\0', ' ').Contains(marker)) continue;
                if (File.ReadAllText(dir + "/stat").Split(' ')[2] != "Z") alive.Add(pid);
            }
            catch (IOException) { }
        }
        return alive;
    }

    private static async Task AssertNoneAliveAsync(string marker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (Alive(marker).Count == 0) return;
            await Task.Delay(50);
        }
        Assert.Fail($"processes {string.Join(",", Alive(marker))} are still alive");
    }

    [Fact]
    public async Task Refused_while_a_child_holds_a_write_loan()
    {
        var loans = new ScopePolicyTests.Loans([new ScopeRule(_ws + "/sub", Permission.Write)]);
        var bash = new BashTool(new Workspace(_ws, new ScopeConfig([Allow(_ws)], []), loans: loans));
        var e = await Fails(bash, new { command = "touch sub/x" });
        Assert.Equal(ToolErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("command execution is denied while a child holds a write delegation", e.Message);
        Assert.False(File.Exists(_t.P("ws/sub/x")));
    }
}
