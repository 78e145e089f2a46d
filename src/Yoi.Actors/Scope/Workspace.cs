using Yoi.Messages;
using Yoi.Actors.Engine;

namespace Yoi.Actors.Scope;

/// <summary>A path a tool may touch, after the checks: <see cref="Logical"/> is what the model typed (normalised),
/// <see cref="Real"/> is where the I/O happens (a direct symlink already followed).</summary>
public sealed record CheckedPath(string Logical, string Real, bool Exists, bool IsDirectory);

/// <summary>A Worker's filesystem view: the workspace root that logical paths are joined onto, the cwd Bash runs
/// in, its own scope and the write loans it holds out (reference-delegation §4.2, §4.3, §4.8, §4.9).</summary>
public sealed class Workspace
{
    public Workspace(string root, ScopeConfig scope, string? cwd = null, IWriteLoans? loans = null)
    {
        if (!Path.IsPathRooted(root)) throw new ArgumentException($"workspace root must be absolute: {root}");
        Root = PathResolution.Resolve(Path.GetFullPath(root)) ?? Path.GetFullPath(root);
        Cwd = cwd is null ? Root : PathResolution.Resolve(Path.GetFullPath(cwd)) ?? Path.GetFullPath(cwd);
        Scope = scope;
        Loans = loans ?? NoWriteLoans.Instance;
    }

    public string Root { get; }
    public string Cwd { get; }
    public ScopeConfig Scope { get; }
    public IWriteLoans Loans { get; }

    /// <summary>The scope as of now (loaned write rules are deny(Write) layers).</summary>
    public ScopePolicy Policy() => new(Scope, Loans.LoanedWriteRules.Select(r => r with { Permission = Permission.Write }));

    /// <summary>Validates a Workdir-relative logical path (§4.8) and returns it normalised ("" for the root).</summary>
    public static string NormalizeLogical(string? logical)
    {
        logical ??= "";
        if (logical.Contains('\\') || logical.Contains('\0') || logical.StartsWith('/'))
            throw ScopeErrors.InvalidPath(logical);
        var parts = new List<string>();
        foreach (var part in logical.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") throw ScopeErrors.InvalidPath(logical);
            parts.Add(part);
        }
        if (Path.IsPathRooted(logical)) throw ScopeErrors.InvalidPath(logical);
        return string.Join('/', parts);
    }

    /// <summary>The model-facing path of a real path inside the root ("." for the root itself).</summary>
    public string ToLogical(string real) =>
        real == Root ? "." : PathResolution.IsAtOrUnder(real, Root) ? Path.GetRelativePath(Root, real).Replace('\\', '/') : real;

    /// <summary>Checks <paramref name="logical"/> for <paramref name="needed"/> and returns where the I/O happens.
    /// The location itself must carry the permission; a direct symlink must resolve and its target must carry it
    /// too (§4.9). Intermediate symlinked directories are resolved by canonicalisation (§4.2).</summary>
    public CheckedPath Check(string? logical, Permission needed, ScopePolicy? policy = null)
    {
        var normal = NormalizeLogical(logical);
        var shown = normal.Length == 0 ? "." : normal;
        policy ??= Policy();
        string location;
        if (normal.Length == 0) location = Root;
        else
        {
            var lexical = PathResolution.Join(Root, normal);
            var parent = PathResolution.Parent(lexical)!;
            var resolvedParent = PathResolution.Resolve(parent);
            if (resolvedParent is null) throw ScopeErrors.Outside(shown);
            location = PathResolution.Join(resolvedParent, Path.GetFileName(lexical));
        }
        Require(policy.PermissionAtCanonical(location), needed, shown);

        var real = location;
        if (PathResolution.IsSymlink(location))
        {
            real = PathResolution.RealPath(location) ?? throw ScopeErrors.BrokenSymlink(shown);
            var access = policy.PermissionAtCanonical(real);
            if (!access.Covers(needed)) throw ScopeErrors.SymlinkOutside(shown, needed);
        }
        var isDir = Directory.Exists(real);
        return new CheckedPath(shown, real, isDir || File.Exists(real), isDir);
    }

    private static void Require(Access access, Permission needed, string shown)
    {
        if (access.Covers(needed)) return;
        if (access == Access.Read) throw ScopeErrors.ReadOnly(shown);
        throw ScopeErrors.Outside(shown);
    }

    /// <summary>A file to read (Read, file_ref): readable, existing, not a directory.</summary>
    public CheckedPath CheckReadFile(string? logical)
    {
        var p = Check(logical, Permission.Read);
        if (!p.Exists) throw ScopeErrors.NotFound(p.Logical);
        if (p.IsDirectory) throw ScopeErrors.IsDirectory(p.Logical);
        return p;
    }

    /// <summary>A file to write (Write, Edit). An existing file (or link) needs Write on itself; a new file needs
    /// Write on its parent directory (denial reports the parent) and on itself.</summary>
    public CheckedPath CheckWriteFile(string? logical)
    {
        var normal = NormalizeLogical(logical);
        if (normal.Length == 0) throw ScopeErrors.IsDirectory(".");
        var policy = Policy();
        var lexical = PathResolution.Join(Root, normal);
        var existsAsEntry = File.Exists(lexical) || Directory.Exists(lexical) || PathResolution.IsSymlink(lexical);
        if (!existsAsEntry)
        {
            var parentLogical = normal.Contains('/') ? normal[..normal.LastIndexOf('/')] : "";
            var parent = Check(parentLogical, Permission.Write, policy);
            if (parent.Exists && !parent.IsDirectory) throw ScopeErrors.NotADirectory(parent.Logical);
        }
        var p = Check(normal, Permission.Write, policy);
        if (p.IsDirectory)
            throw PathResolution.IsSymlink(PathResolution.Join(PathResolution.Resolve(PathResolution.Parent(lexical)!) ?? Root, Path.GetFileName(lexical)))
                ? ScopeErrors.SymlinkToDirectory(p.Logical)
                : ScopeErrors.IsDirectory(p.Logical);
        return p;
    }

    /// <summary>The base directory of Glob/Grep: readable, an existing directory that is not a symlink.</summary>
    public CheckedPath CheckSearchBase(string? logical, string tool)
    {
        var normal = NormalizeLogical(logical);
        var shown = normal.Length == 0 ? "." : normal;
        if (normal.Length > 0)
        {
            var lexical = PathResolution.Join(Root, normal);
            var parent = PathResolution.Resolve(PathResolution.Parent(lexical)!);
            if (parent is not null && PathResolution.IsSymlink(PathResolution.Join(parent, Path.GetFileName(lexical))))
            {
                var policy = Policy();
                if (policy.PermissionAtCanonical(PathResolution.Join(parent, Path.GetFileName(lexical))) == Access.None) throw ScopeErrors.Outside(shown);
                if (Directory.Exists(lexical)) throw ScopeErrors.SymlinkDirectoryBase(shown, tool);
            }
        }
        var p = Check(normal, Permission.Read);
        if (!p.Exists) throw ScopeErrors.NotFound(p.Logical);
        return p;
    }

    /// <summary>Human-readable scope for the greeting (`scope_summary`).</summary>
    public static string Summary(ScopeConfig scope)
    {
        var sb = new System.Text.StringBuilder();
        void Section(string title, IEnumerable<ScopeRule> rules)
        {
            var list = rules.ToList();
            if (list.Count == 0) return;
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(title).Append(':');
            foreach (var r in list) sb.Append("\n  - ").Append(r.Target).Append(r.Recursive ? "" : " (non-recursive)");
        }
        Section("Writable", scope.Allow.Where(r => r.Permission == Permission.Write));
        Section("Readable", scope.Allow.Where(r => r.Permission == Permission.Read));
        Section("Denied", scope.Deny.Where(r => r.Permission == Permission.Read));
        Section("Read-only", scope.Deny.Where(r => r.Permission == Permission.Write));
        return sb.ToString();
    }
}
