using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Tools;

/// <summary>The bwrap mount plan as a pure function of the scope (spec README "beyond the reference" 12).</summary>
public sealed class BashSandboxPlanTests
{
    private sealed class Host(Dictionary<string, string> kinds, Dictionary<string, (string, bool)[]>? children = null) : BashSandbox.IHostView
    {
        public string? Kind(string path) => kinds.GetValueOrDefault(path);
        public IEnumerable<(string Name, bool IsDirectory)> Children(string dir) => children?.GetValueOrDefault(dir) ?? [];
    }

    private static readonly Dictionary<string, string> System = new()
    {
        ["/usr"] = "dir", ["/bin"] = "link:usr/bin", ["/etc"] = "dir",
        ["/ws"] = "dir", ["/ws/ro"] = "dir", ["/ws/secret"] = "dir", ["/ws/secret/pub"] = "dir", ["/ws/lent"] = "dir",
        ["/ref"] = "dir", ["/ref/a.txt"] = "file", ["/ref/d"] = "dir", ["/data"] = "dir", ["/data/node"] = "dir", ["/data/node/ws"] = "dir",
    };

    private static string Plan(IReadOnlyList<ResolvedRule> allow, IReadOnlyList<ResolvedRule> deny, bool network = false,
        IReadOnlyCollection<string>? hidden = null, string cwd = "/ws") =>
        string.Join(" ", BashSandbox.Arguments(allow, deny, cwd, network, hidden ?? [],
            new Host(System, new() { ["/ref"] = [("a.txt", false), ("d", true)] })));

    [Fact]
    public void System_folders_read_only_private_tmp_no_network_and_dies_with_the_node()
    {
        var plan = Plan([new("/ws", Permission.Write, true)], []);
        Assert.StartsWith("--die-with-parent --new-session --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --unshare-net " +
            "--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp --tmpfs /var/tmp " +
            "--bind /ws /ws --chdir /ws", plan);
        Assert.DoesNotContain("--unshare-net", Plan([new("/ws", Permission.Write, true)], [], network: true));
    }

    [Fact]
    public void Read_scope_is_read_only_and_denied_or_loaned_paths_are_read_only_or_hidden_after_the_allow()
    {
        var plan = Plan(
            [new("/ws", Permission.Write, true), new("/ref", Permission.Read, true), new("/ws/secret/pub", Permission.Read, true)],
            [new("/ws/ro", Permission.Write, true), new("/ws/lent", Permission.Write, true), new("/ws/secret", Permission.Read, true)]);
        Assert.Contains("--bind /ws /ws", plan);
        Assert.Contains("--ro-bind /ref /ref", plan);
        Assert.Contains("--ro-bind /ws/ro /ws/ro", plan);
        Assert.Contains("--ro-bind /ws/lent /ws/lent", plan); // a loaned write rule is a deny(Write) layer
        Assert.Contains("--perms 0000 --tmpfs /ws/secret --remount-ro /ws/secret", plan);
        Assert.DoesNotContain("/ws/secret/pub", plan); // a deny(Read) is not re-exposed by an allow below it
        Assert.True(plan.IndexOf("--bind /ws /ws", StringComparison.Ordinal) < plan.IndexOf("--ro-bind /ws/ro", StringComparison.Ordinal));
    }

    [Fact]
    public void A_read_rule_inside_a_write_rule_stays_writable()
    {
        Assert.Contains("--bind /ws/ro /ws/ro", Plan([new("/ws", Permission.Write, true), new("/ws/ro", Permission.Read, true)], []));
    }

    [Fact]
    public void A_non_recursive_rule_shows_direct_files_and_empty_subfolders()
    {
        var plan = Plan([new("/ref", Permission.Read, false)], [], cwd: "/ref");
        Assert.Contains("--dir /ref --ro-bind /ref/a.txt /ref/a.txt --dir /ref/d", plan);
        Assert.DoesNotContain("--ro-bind /ref /ref", plan);
    }

    [Fact]
    public void The_nodes_data_folder_is_hidden_when_a_scope_contains_it()
    {
        Assert.Contains("--tmpfs /data/node", Plan([new("/data", Permission.Write, true)], [], hidden: ["/data/node"], cwd: "/data"));
        // a Worker's own folder inside the node's folder is still its scope
        var plan = Plan([new("/data", Permission.Write, true), new("/data/node/ws", Permission.Write, true)], [], hidden: ["/data/node"], cwd: "/data");
        Assert.True(plan.IndexOf("--tmpfs /data/node", StringComparison.Ordinal) < plan.IndexOf("--bind /data/node/ws", StringComparison.Ordinal), plan);
        Assert.DoesNotContain("/data/node", Plan([new("/ws", Permission.Write, true)], [], hidden: ["/data/node"]));
    }

    [Fact]
    public void A_cwd_outside_the_scope_is_an_empty_folder()
    {
        Assert.Contains("--dir /elsewhere", Plan([new("/ws", Permission.Write, true)], [], cwd: "/elsewhere"));
    }

    [Fact]
    public void Off_is_unsandboxed_and_a_missing_bwrap_is_refused_only_when_required()
    {
        Assert.Null(BashSandbox.Decide(new BashSection(BashSandboxMode.Off)).Bwrap);
        var auto = BashSandbox.Decide(new BashSection(Bwrap: "/nonexistent/bwrap"));
        Assert.Null(auto.Bwrap);
        Assert.Null(auto.Refusal);
        var required = BashSandbox.Decide(new BashSection(BashSandboxMode.Required, Bwrap: "/nonexistent/bwrap"));
        Assert.Contains("bwrap not found at /nonexistent/bwrap", required.Refusal);
    }
}
