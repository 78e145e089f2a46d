using System.Collections.Concurrent;
using System.Diagnostics;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Messages;

namespace Yoi.Actors.Tools;

/// <summary>Which sandbox a Worker's Bash gets: <see cref="Bwrap"/> set = bubblewrap; <see cref="Refusal"/> set = Bash
/// refuses every call (`required` without a working bwrap); neither = unsandboxed (`off`, or `auto` without bwrap).
/// <see cref="Describe"/> is the line the greeting shows.</summary>
public sealed record SandboxDecision(string? Bwrap, bool Network, string? Refusal, string Reason)
{
    public string Describe() => Bwrap is not null
        ? $"Bash: sandboxed (bubblewrap, network {(Network ? "on" : "off")})"
        : Refusal is not null
            ? $"Bash: refused (sandbox required but unavailable: {Reason})"
            : $"Bash: not sandboxed ({Reason}); it runs with the node's authority";
}

/// <summary>Bubblewrap confinement for Bash (spec README "beyond the reference" 12). The mount plan is a pure function
/// of the scope (<see cref="Arguments"/>): the system folders and the read scope read-only, the write scope
/// writable, denied and loaned paths read-only (deny(Write)) or hidden under an empty tmpfs (deny(Read)), the node's
/// data folders hidden, a private /tmp, no network unless allowed; nothing else of the host is visible (no home, no
/// other Worker's folders). PID/IPC/UTS namespaces are private and `--die-with-parent` ties the sandbox to the node,
/// so killing the bwrap process tree (cancel, timeout) ends everything inside it.</summary>
public static class BashSandbox
{
    /// <summary>Host folders every sandbox sees read-only (those that exist; a symlink is recreated as a symlink).</summary>
    public static readonly string[] SystemFolders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

    private static readonly ConcurrentDictionary<string, byte> HiddenFolders = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Lazy<string?>> Probes = new(StringComparer.Ordinal);

    /// <summary>A node's data folder (journal, endpoint socket): hidden from every sandbox even when a scope
    /// contains it. Called by the host when a node starts.</summary>
    public static void HideFromSandboxes(string folder)
    {
        if (PathResolution.Resolve(Path.GetFullPath(folder)) is { } canonical) HiddenFolders[canonical] = 0;
    }

    public static IReadOnlyCollection<string> Hidden => HiddenFolders.Keys.ToList();

    public static SandboxDecision Decide(BashSection? config)
    {
        config ??= BashSection.Default;
        if (config.Sandbox == BashSandboxMode.Off) return new(null, config.Network, null, "[tools.bash] sandbox = \"off\"");
        var path = config.Bwrap ?? FindOnPath("bwrap");
        string? problem;
        if (path is null || !File.Exists(path)) problem = $"bwrap not found{(config.Bwrap is null ? " on PATH" : " at " + config.Bwrap)}";
        else problem = Probes.GetOrAdd(path, p => new Lazy<string?>(() => Probe(p))).Value;
        if (problem is null) return new(path, config.Network, null, "bubblewrap");
        return config.Sandbox == BashSandboxMode.Required
            ? new(null, config.Network, $"Bash requires the bubblewrap sandbox ([tools.bash] sandbox = \"required\") but it is unavailable: {problem}", problem)
            : new(null, config.Network, null, problem);
    }

    private static string? FindOnPath(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
        .Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, name))
        .FirstOrDefault(File.Exists);

    /// <summary>Runs bwrap once with the namespaces Bash uses: null = it works, else why not (e.g. no user namespaces
    /// in an unprivileged container).</summary>
    private static string? Probe(string bwrap)
    {
        try
        {
            var psi = new ProcessStartInfo(bwrap) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent", "--", "/bin/true" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(10_000)) { try { p.Kill(true); } catch (InvalidOperationException) { } return "bwrap did not answer within 10 s"; }
            return p.ExitCode == 0 ? null : $"bwrap failed (exit {p.ExitCode}): {err.Result.Trim()}";
        }
        catch (Exception e) { return "bwrap could not start: " + e.Message; }
    }

    /// <summary>What the host looks like to the planner (so <see cref="Arguments"/> is testable without a real tree).</summary>
    public interface IHostView
    {
        /// <summary>"dir", "file", "link:&lt;target&gt;" or null when absent (the final link not followed).</summary>
        string? Kind(string path);

        IEnumerable<(string Name, bool IsDirectory)> Children(string dir);
    }

    public sealed class RealHost : IHostView
    {
        public static RealHost Instance { get; } = new();

        public string? Kind(string path)
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target) return "link:" + target;
            return Directory.Exists(path) ? "dir" : File.Exists(path) ? "file" : null;
        }

        public IEnumerable<(string Name, bool IsDirectory)> Children(string dir)
        {
            try { return ScopedIo.ListDirectory(dir); }
            catch (IOException) { return []; }
        }
    }

    /// <summary>The bwrap arguments (before the command) for a scope. Mounts are applied in path order, so a rule
    /// below another overrides it; denied and loaned paths and hidden folders come after every allow rule at or above
    /// them. A non-recursive allow exposes its folder's direct files and empty stand-ins for its subfolders; a
    /// non-recursive deny is applied recursively (stricter, never wider).</summary>
    public static List<string> Arguments(IReadOnlyList<ResolvedRule> allow, IReadOnlyList<ResolvedRule> deny, string cwd,
        bool network, IReadOnlyCollection<string> hidden, IHostView host)
    {
        var args = new List<string> { "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try" };
        if (!network) args.Add("--unshare-net");
        foreach (var folder in SystemFolders)
        {
            var kind = host.Kind(folder);
            if (kind is null) continue;
            if (kind.StartsWith("link:", StringComparison.Ordinal)) args.AddRange(["--symlink", kind[5..], folder]);
            else args.AddRange(["--ro-bind", folder, folder]);
        }
        args.AddRange(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]);
        // A cwd outside every allow rule is an empty folder (bwrap could not chdir into an unmounted path).
        if (!allow.Any(r => PathResolution.IsAtOrUnder(cwd, r.Target))) args.AddRange(["--dir", cwd]);

        // (path, order within the same path, action): allow, deny(Write), deny(Read), hidden node folder.
        var ops = new List<(string Path, int Rank, Action<List<string>> Emit)>();
        foreach (var rule in allow.DistinctBy(r => (r.Target, r.Recursive)))
        {
            if (host.Kind(rule.Target) is not { } kind || kind.StartsWith("link:", StringComparison.Ordinal)) continue;
            var write = allow.Any(a => a.Permission == Permission.Write && (a.Target == rule.Target || (a.Recursive && PathResolution.IsAtOrUnder(rule.Target, a.Target))));
            var bind = write ? "--bind" : "--ro-bind";
            if (rule.Recursive || kind == "file")
                ops.Add((rule.Target, 0, a => a.AddRange([bind, rule.Target, rule.Target])));
            else
                ops.Add((rule.Target, 0, a =>
                {
                    a.AddRange(["--dir", rule.Target]);
                    foreach (var (name, isDir) in host.Children(rule.Target))
                    {
                        var child = PathResolution.Join(rule.Target, name);
                        if (isDir) a.AddRange(["--dir", child]);
                        else if (host.Kind(child) == "file") a.AddRange([bind, child, child]);
                    }
                }));
        }
        foreach (var rule in deny)
        {
            if (host.Kind(rule.Target) is not { } kind || kind.StartsWith("link:", StringComparison.Ordinal)) continue;
            if (rule.Permission == Permission.Write)
                ops.Add((rule.Target, 1, a => a.AddRange(["--ro-bind", rule.Target, rule.Target])));
            else
                ops.Add((rule.Target, 2, a => Hide(a, rule.Target, kind)));
        }
        foreach (var folder in hidden)
            if (allow.Any(r => r.Target != folder && PathResolution.IsAtOrUnder(folder, r.Target)) && host.Kind(folder) is { } kind && !kind.StartsWith("link:", StringComparison.Ordinal))
                ops.Add((folder, 3, a => Hide(a, folder, kind))); // rules below it (a Worker's own folder) stay visible

        // Shorter paths first (a parent before what is below it); a hidden or denied-for-read folder is not re-exposed
        // by a rule below it.
        var hiddenSoFar = new List<string>();
        foreach (var op in ops.OrderBy(o => o.Path.Count(c => c == '/')).ThenBy(o => o.Path.Length).ThenBy(o => o.Rank))
        {
            if (hiddenSoFar.Any(h => op.Path != h && PathResolution.IsAtOrUnder(op.Path, h))) continue;
            op.Emit(args);
            if (op.Rank == 2) hiddenSoFar.Add(op.Path);
        }
        args.AddRange(["--chdir", cwd]);
        return args;
    }

    private static void Hide(List<string> args, string path, string kind)
    {
        if (kind == "dir") args.AddRange(["--perms", "0000", "--tmpfs", path, "--remount-ro", path]);
        else args.AddRange(["--ro-bind", "/dev/null", path]);
    }
}
