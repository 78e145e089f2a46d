using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Scope;

/// <summary>Spec README "beyond the reference" 11: a thread swaps a folder inside the scope between a real directory
/// and a symlink to outside (atomically, renameat2 RENAME_EXCHANGE) at least 10,000 times while Read, Write, Edit,
/// Glob, Grep and file_ref run on paths through it. Outside sentinels are never read (in no result) nor written,
/// and no file appears outside.</summary>
public sealed class ScopeRaceTests : IDisposable
{
    private const string Sentinel = "SENTINEL-OUTSIDE";
    private const int MinFlips = 10_000;
    private const int MinOps = 1_500;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly TempTree _t = new();

    public void Dispose() => _t.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Swapping_a_folder_for_an_outside_symlink_never_leaks_outside_content_or_writes_outside(bool componentWalk)
    {
        var ws = _t.Dir("ws");
        var outside = _t.Dir("outside");
        _t.File("outside/inside.txt", Sentinel + " read\n");
        _t.File("outside/edit.txt", "EDIT A " + Sentinel + "\n");
        _t.File("outside/only-outside-" + Sentinel + ".txt", Sentinel + "\n");
        _t.File("outside/deep/x.txt", Sentinel + " deep\n");
        _t.File("ws/flip/inside.txt", "INSIDE read\n");
        _t.File("ws/flip/edit.txt", "EDIT A\n");
        _t.File("ws/flip/deep/x.txt", "INSIDE deep\n");
        _t.Link("ws/.flipalt", outside); // swapped with ws/flip: one is always the real folder, the other the link
        var before = Snapshot(outside);

        var workspace = new Workspace(ws, new ScopeConfig([Allow(ws)], []));
        var tools = ToolSet(workspace);
        var manifest = new WorkerManifest(null, new ModelSection("scripted"), new EngineSection(), new SessionSection(), ws,
            Scope: workspace.Scope);

        using var stop = new CancellationTokenSource(Bound);
        var flips = 0;
        var flipper = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (renameat2(AtFdCwd, ws + "/flip", AtFdCwd, ws + "/.flipalt", RenameExchange) != 0)
                    throw new InvalidOperationException("renameat2 failed: " + Marshal.GetLastPInvokeError());
                Interlocked.Increment(ref flips);
            }
        }) { IsBackground = true };
        flipper.Start();

        var results = new List<string>();
        var ok = new Dictionary<string, int>();
        var ops = 0;
        var sw = Stopwatch.StartNew();
        try
        {
            SafeFs.ForceComponentWalk = componentWalk;
            while ((Volatile.Read(ref flips) < MinFlips || ops < MinOps) && sw.Elapsed < Bound - TimeSpan.FromSeconds(10))
            {
                var i = ops++;
                var (name, args) = (i % 10) switch
                {
                    0 or 7 or 8 => ("Read", (object)new { file_path = "flip/inside.txt" }),
                    1 or 9 => ("Write", new { file_path = $"flip/w-{i}.txt", content = "written" }),
                    2 => ("Edit", new { file_path = "flip/edit.txt", old_string = "EDIT A", new_string = "EDIT B" }),
                    3 => ("Glob", new { pattern = "**/*", path = "flip" }),
                    4 => ("Grep", new { pattern = "SENTINEL|INSIDE", output_mode = "content" }),
                    5 => ("Grep", new { pattern = ".", path = "flip", output_mode = "content" }),
                    _ => ("file_ref", null!),
                };
                string text;
                if (name == "file_ref")
                {
                    var r = FileRefs.Resolve([new FileRefSegment("flip/inside.txt"), new FileRefSegment("flip/deep"), new FileRefSegment("flip")], manifest);
                    text = string.Join("\n", r.Attachments.Select(a => a.Body).Concat(r.Alerts));
                    if (r.Attachments.Count > 0) Count(ok, name);
                }
                else
                {
                    if (name == "Edit") await Safe(() => Run(tools["Read"], new { file_path = "flip/edit.txt" })); // read-before-write
                    var (output, error) = await Safe(() => Run(tools[name], args));
                    text = output is null ? error! : output.Summary + "\n" + output.Content;
                    if (output is not null) Count(ok, name);
                    if (name == "Edit" && output is not null)
                        await Safe(() => Run(tools["Edit"], new { file_path = "flip/edit.txt", old_string = "EDIT B", new_string = "EDIT A" }));
                }
                results.Add(text);
            }
        }
        finally
        {
            SafeFs.ForceComponentWalk = false;
            stop.Cancel();
            flipper.Join();
        }

        Assert.True(flips >= MinFlips, $"only {flips} flips in {sw.Elapsed}");
        Assert.All(results, r => Assert.DoesNotContain(Sentinel, r)); // never read outside
        Assert.Equal(before, Snapshot(outside)); // nothing written, created or changed outside
        Assert.Empty(Directory.EnumerateFileSystemEntries(_t.Root).Select(Path.GetFileName).Except(["ws", "outside"]));
        // The race was real: every tool also succeeded through the real folder.
        foreach (var tool in new[] { "Read", "Write", "Edit", "Glob", "Grep", "file_ref" })
            Assert.True(ok.GetValueOrDefault(tool) > 0, $"{tool} never succeeded ({string.Join(", ", ok)})");
        Assert.Contains(results, r => r.Contains("INSIDE read"));
    }

    private static void Count(Dictionary<string, int> ok, string name) => ok[name] = ok.GetValueOrDefault(name) + 1;

    private static async Task<(ToolOutput? Output, string? Error)> Safe(Func<Task<ToolOutput>> f)
    {
        try { return (await f(), null); }
        catch (ToolException e) { return (null, e.Message); }
    }

    /// <summary>Every entry below <paramref name="dir"/> with its content hash (links not followed).</summary>
    private static string Snapshot(string dir) => string.Join("\n", Directory
        .EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
        .Order(StringComparer.Ordinal)
        .Select(p => p + " " + (File.Exists(p) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "dir")));
}

/// <summary>The documented hard-link rule: a file with several links may be read and written; a write replaces the
/// name in the scope (temp file + rename) and never writes through the shared inode.</summary>
public sealed class HardLinkTests : IDisposable
{
    private readonly TempTree _t = new();

    public void Dispose() => _t.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string oldpath, string newpath);

    [Fact]
    public async Task Writing_a_hard_linked_file_breaks_the_link_and_leaves_the_outside_name_unchanged()
    {
        var ws = _t.Dir("ws");
        var outside = _t.File("outside/o.txt", "OUTSIDE\n");
        Assert.Equal(0, link(outside, ws + "/linked.txt"));
        var tools = ToolSet(new Workspace(ws, new ScopeConfig([Allow(ws)], [])));
        Assert.Contains("OUTSIDE", (await Run(tools["Read"], new { file_path = "linked.txt" })).Content);
        await Run(tools["Edit"], new { file_path = "linked.txt", old_string = "OUTSIDE", new_string = "edited" });
        Assert.Equal("edited\n", File.ReadAllText(ws + "/linked.txt"));
        Assert.Equal("OUTSIDE\n", File.ReadAllText(outside));
    }
}
