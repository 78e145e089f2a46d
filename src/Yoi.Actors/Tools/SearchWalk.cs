using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>Glob patterns: <c>**</c> any run including <c>/</c>, <c>*</c> any run without <c>/</c>, <c>?</c> one
/// character, <c>[…]</c> classes, <c>{a,b}</c> alternatives.</summary>
public static class GlobPattern
{
    public static Regex ToRegex(string pattern, bool ignoreCase = false)
    {
        var sb = new StringBuilder("^");
        var braces = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                    else sb.Append(".*");
                    break;
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0) { sb.Append("\\["); break; }
                    var cls = pattern[(i + 1)..end];
                    if (cls.StartsWith('!')) cls = "^" + cls[1..];
                    sb.Append('[').Append(cls.Replace("\\", "\\\\")).Append(']');
                    i = end;
                    break;
                case '{': braces++; sb.Append("(?:"); break;
                case '}' when braces > 0: braces--; sb.Append(')'); break;
                case ',' when braces > 0: sb.Append('|'); break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : 0));
    }
}

/// <summary>A minimal gitignore: per-folder `.gitignore` / `.ignore` files, `#` comments, `!` negation, trailing
/// `/` for folders only, patterns with a `/` anchored at their file's folder, others matching a name at any depth.
/// The files are read through the walked folder's handle (a symlinked ignore file is skipped).</summary>
internal sealed class IgnoreRules
{
    private readonly List<(string BaseRel, Regex Regex, bool Negate, bool DirOnly)> _rules = [];

    public IgnoreRules With(SafeFileHandle dir, string dirRel)
    {
        var next = new IgnoreRules();
        next._rules.AddRange(_rules);
        foreach (var file in new[] { ".gitignore", ".ignore" })
        {
            if (ScopedIo.ReadAt(dir, file, 1024 * 1024) is not { } bytes) continue;
            foreach (var raw in Encoding.UTF8.GetString(bytes).Split('\n'))
            {
                var line = raw.TrimEnd();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var negate = line.StartsWith('!');
                if (negate) line = line[1..];
                var dirOnly = line.EndsWith('/');
                line = line.TrimEnd('/');
                if (line.Length == 0) continue;
                var anchored = line.Contains('/');
                line = line.TrimStart('/');
                var pattern = anchored ? line : "**/" + line;
                next._rules.Add((dirRel, GlobPattern.ToRegex(pattern), negate, dirOnly));
            }
        }
        return next;
    }

    public bool Ignored(string rel, bool isDir)
    {
        var ignored = false;
        foreach (var (baseRel, regex, negate, dirOnly) in _rules)
        {
            if (dirOnly && !isDir) continue;
            string sub;
            if (baseRel.Length == 0) sub = rel;
            else if (rel.StartsWith(baseRel + "/", StringComparison.Ordinal)) sub = rel[(baseRel.Length + 1)..];
            else continue;
            if (regex.IsMatch(sub)) ignored = !negate;
        }
        return ignored;
    }
}

/// <summary>A file found by <see cref="SearchWalk"/>; <see cref="Read"/> opens it through its folder's handle and is
/// valid only until the walk moves on.</summary>
internal sealed record WalkFile(string Rel, string Real, Func<long, byte[]?> Read);

/// <summary>Walks a canonical base folder for Glob/Grep through directory handles, never following a link (a symlink
/// entry is skipped; a folder swapped for a symlink after listing fails its O_NOFOLLOW open and is skipped): yields
/// readable regular files (path relative to the base, real path), skipping `.git`, ignored entries and (optionally)
/// hidden ones. Folders are visited depth-first, each folder's files before its subfolders, by name.</summary>
internal static class SearchWalk
{
    private const byte DtDir = 4, DtReg = 8, DtLnk = 10, DtUnknown = 0;

    /// <summary>Throws <see cref="SafeFsException"/> when the base itself cannot be opened (e.g. it changed).</summary>
    public static IEnumerable<WalkFile> Files(string baseReal, ScopePolicy policy, bool includeHidden, CancellationToken ct)
    {
        var root = SafeFs.Open(baseReal, directory: true);
        return Walk(root, baseReal, "", null, policy, includeHidden, ct);
    }

    private static IEnumerable<WalkFile> Walk(SafeFileHandle dir, string real, string rel, IgnoreRules? parentRules,
        ScopePolicy policy, bool includeHidden, CancellationToken ct)
    {
        using (dir)
        {
            ct.ThrowIfCancellationRequested();
            var rules = (parentRules ?? new IgnoreRules()).With(dir, rel);
            List<(string Name, byte Type)> entries;
            try { entries = SafeFs.List(dir); }
            catch (IOException) { yield break; }
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            var subdirs = new List<string>();
            foreach (var (name, dtype) in entries)
            {
                var type = dtype;
                if (type == DtUnknown)
                {
                    var st = SafeFs.StatAt(dir, name);
                    type = st is null ? DtUnknown : st.Value.IsSymlink ? DtLnk : st.Value.IsDirectory ? DtDir : st.Value.IsRegular ? DtReg : (byte)1;
                }
                if (type is DtLnk or DtUnknown) continue; // never follow links
                if (!includeHidden && name.StartsWith('.')) continue;
                var isDir = type == DtDir;
                if (isDir && name == ".git") continue;
                var entryRel = rel.Length == 0 ? name : rel + "/" + name;
                if (rules.Ignored(entryRel, isDir)) continue;
                if (isDir) subdirs.Add(name);
                else if (type == DtReg)
                {
                    var entryReal = PathResolution.Join(real, name);
                    if (policy.PermissionAtCanonical(entryReal) == Access.None) continue;
                    var n = name;
                    yield return new WalkFile(entryRel, entryReal, max => ScopedIo.ReadAt(dir, n, max));
                }
            }
            foreach (var name in subdirs)
            {
                SafeFileHandle child;
                try { child = SafeFs.OpenDirectoryAt(dir, name); }
                catch (IOException) { continue; } // gone, or a symlink now
                foreach (var f in Walk(child, PathResolution.Join(real, name), rel.Length == 0 ? name : rel + "/" + name, rules, policy, includeHidden, ct))
                    yield return f;
            }
        }
    }
}
