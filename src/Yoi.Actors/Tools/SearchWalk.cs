using System.Text;
using System.Text.RegularExpressions;
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
/// `/` for folders only, patterns with a `/` anchored at their file's folder, others matching a name at any depth.</summary>
internal sealed class IgnoreRules
{
    private readonly List<(string BaseRel, Regex Regex, bool Negate, bool DirOnly)> _rules = [];

    public IgnoreRules With(string dirReal, string dirRel)
    {
        var next = new IgnoreRules();
        next._rules.AddRange(_rules);
        foreach (var file in new[] { ".gitignore", ".ignore" })
        {
            var path = Path.Combine(dirReal, file);
            if (!File.Exists(path) || PathResolution.IsSymlink(path)) continue;
            string[] lines;
            try { lines = File.ReadAllLines(path); } catch (IOException) { continue; } catch (UnauthorizedAccessException) { continue; }
            foreach (var raw in lines)
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

/// <summary>Walks a canonical base folder for Glob/Grep without following links: yields readable regular files
/// (path relative to the base, real path), skipping `.git`, ignored entries and (optionally) hidden ones.</summary>
internal static class SearchWalk
{
    public static IEnumerable<(string Rel, string Real)> Files(string baseReal, ScopePolicy policy, bool includeHidden, CancellationToken ct)
    {
        var stack = new Stack<(string Real, string Rel, IgnoreRules Rules)>();
        stack.Push((baseReal, "", new IgnoreRules().With(baseReal, "")));
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var (dir, rel, rules) = stack.Pop();
            IEnumerable<FileSystemInfo> entries;
            try { entries = new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var subdirs = new List<(string, string, IgnoreRules)>();
            foreach (var entry in entries)
            {
                var name = entry.Name;
                var entryRel = rel.Length == 0 ? name : rel + "/" + name;
                if (entry.LinkTarget is not null) continue; // never follow links
                if (!includeHidden && name.StartsWith('.')) continue;
                var isDir = entry is DirectoryInfo;
                if (isDir && name == ".git") continue;
                if (rules.Ignored(entryRel, isDir)) continue;
                var real = PathResolution.Join(dir, name);
                if (isDir) subdirs.Add((real, entryRel, rules.With(real, entryRel)));
                else if (policy.PermissionAtCanonical(real) != Access.None) yield return (entryRel, real);
            }
            for (var i = subdirs.Count - 1; i >= 0; i--) stack.Push(subdirs[i]);
        }
    }
}
