using Tomlyn.Model;

namespace Yoi.Actors.Manifest;

/// <summary>How Bash is confined (spec README "beyond the reference" 12): <c>Auto</c> uses bubblewrap when it is
/// present and works, <c>Required</c> refuses to run Bash without it, <c>Off</c> runs Bash with the node's authority.</summary>
public enum BashSandboxMode { Auto, Required, Off }

/// <summary>`[tools.bash]`: <c>sandbox</c>, <c>network</c> (inside the sandbox; off by default) and <c>bwrap</c> (the
/// bubblewrap executable; default: `bwrap` on PATH).</summary>
public sealed record BashSection(BashSandboxMode Sandbox = BashSandboxMode.Auto, bool Network = false, string? Bwrap = null)
{
    public static BashSection Default { get; } = new();
}

/// <summary>`[tools]`: per-tool settings (so far only `[tools.bash]`).</summary>
public sealed record ToolsSection(BashSection? Bash = null);

public static partial class ManifestLoader
{
    /// <summary>`[tools]`; null when absent (defaults apply).</summary>
    internal static ToolsSection? ToolsOf(TomlTable? t)
    {
        if (t is null) return null;
        foreach (var key in t.Keys)
            if (key != "bash") throw new ManifestException($"tools.{key} is not a known key");
        if (Table(t, "bash", "tools.bash") is not { } bash) return new ToolsSection();
        foreach (var key in bash.Keys)
            if (key is not ("sandbox" or "network" or "bwrap")) throw new ManifestException($"tools.bash.{key} is not a known key");
        var mode = Str(bash, "tools.bash.sandbox") switch
        {
            null or "auto" => BashSandboxMode.Auto,
            "required" => BashSandboxMode.Required,
            "off" => BashSandboxMode.Off,
            var other => throw new ManifestException($"tools.bash.sandbox must be \"auto\", \"required\" or \"off\" (got \"{other}\")"),
        };
        var bwrap = Str(bash, "tools.bash.bwrap");
        if (bwrap is not null && !Path.IsPathRooted(bwrap)) throw new ManifestException($"tools.bash.bwrap must be an absolute path (got \"{bwrap}\")");
        return new ToolsSection(new BashSection(mode, Bool(bash, "tools.bash.network") ?? false, bwrap));
    }
}
