using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Yoi.Actors.Engine;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>Glob (reference-delegation §7): readable regular files under the base (hidden included, ignore files
/// honoured, links never followed) whose base-relative path matches; Workdir-relative, sorted, at most 1000.</summary>
public sealed class GlobTool(Workspace workspace) : ITool
{
    public bool ReadOnly => true;

    public const int MaxResults = 1000;

    public string Name => "Glob";
    public string Description => "Find files by glob pattern (e.g. `**/*.cs`, `src/*.json`). Returns workspace-relative paths, sorted. A pattern without `/` matches file names at any depth.";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "pattern":{"type":"string","description":"Glob pattern, relative to path"},
          "path":{"type":"string","description":"Base folder relative to the workspace root (default: the root)"}},
         "required":["pattern"]}
        """);

    public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var pattern = Args.String(input, "pattern");
        if (pattern.Length == 0) throw Args.Bad("`pattern` must not be empty");
        var regex = GlobPattern.ToRegex(pattern.TrimStart('/'));
        var byName = !pattern.Contains('/');
        var pathArg = Args.OptString(input, "path");
        var policy = workspace.Policy();
        var (matches, total) = Guarded.Run(pathArg, () =>
        {
            var basePath = workspace.CheckSearchBase(pathArg, Name);
            if (!basePath.IsDirectory) throw ScopeErrors.NotADirectory(basePath.Logical);
            var found = new List<string>();
            var n = 0;
            foreach (var f in SearchWalk.Files(basePath.Real, policy, includeHidden: true, ct))
            {
                if (!regex.IsMatch(f.Rel) && !(byName && regex.IsMatch(Path.GetFileName(f.Rel)))) continue;
                n++;
                found.Add(workspace.ToLogical(f.Real));
            }
            return (found, n);
        });
        if (total == 0) return Task.FromResult(new ToolOutput($"No files found matching `{pattern}`"));
        matches.Sort(StringComparer.Ordinal);
        if (total > MaxResults)
            return Task.FromResult(new ToolOutput($"Found {MaxResults}+ files matching `{pattern}` (truncated to {MaxResults})",
                string.Join("\n", matches.Take(MaxResults))));
        return Task.FromResult(new ToolOutput($"Found {total} file(s) matching `{pattern}`", string.Join("\n", matches)));
    }
}

/// <summary>Grep (reference-delegation §7): regex search over readable, non-hidden, non-ignored, non-binary files.</summary>
public sealed class GrepTool(Workspace workspace) : ITool
{
    public bool ReadOnly => true;

    public const int DefaultHeadLimit = 250;

    private static readonly Dictionary<string, string[]> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cs"] = [".cs"], ["csharp"] = [".cs"], ["rust"] = [".rs"], ["rs"] = [".rs"], ["py"] = [".py", ".pyi"],
        ["python"] = [".py", ".pyi"], ["js"] = [".js", ".mjs", ".cjs", ".jsx"], ["ts"] = [".ts", ".tsx", ".mts", ".cts"],
        ["go"] = [".go"], ["java"] = [".java"], ["c"] = [".c", ".h"], ["cpp"] = [".cpp", ".cc", ".cxx", ".hpp", ".hh", ".h"],
        ["md"] = [".md", ".markdown"], ["markdown"] = [".md", ".markdown"], ["json"] = [".json"], ["toml"] = [".toml"],
        ["yaml"] = [".yaml", ".yml"], ["sh"] = [".sh", ".bash"], ["html"] = [".html", ".htm"], ["css"] = [".css"],
        ["xml"] = [".xml"], ["txt"] = [".txt"], ["sql"] = [".sql"], ["rb"] = [".rb"], ["ruby"] = [".rb"],
    };

    public string Name => "Grep";
    public string Description => "Search file contents with a regular expression. output_mode: files_with_matches (default), content (matching lines, with -A/-B/-C context) or count. Filter with glob or type.";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "pattern":{"type":"string","description":"Regular expression"},
          "path":{"type":"string","description":"Folder or file relative to the workspace root (default: the root)"},
          "glob":{"type":"string","description":"Only files whose path matches this glob (e.g. *.cs)"},
          "type":{"type":"string","description":"File type, e.g. cs, py, js, rust, md"},
          "case_insensitive":{"type":"boolean"},
          "-A":{"type":"integer","minimum":0},"-B":{"type":"integer","minimum":0},"-C":{"type":"integer","minimum":0},
          "multiline":{"type":"boolean","description":"Let the pattern span lines (. matches newline)"},
          "output_mode":{"type":"string","enum":["files_with_matches","content","count"]},
          "head_limit":{"type":"integer","minimum":1,"description":"Maximum output lines/entries (default 250)"},
          "offset":{"type":"integer","minimum":0,"description":"Skip this many output lines/entries first"}},
         "required":["pattern"]}
        """);

    public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var pattern = Args.String(input, "pattern");
        var mode = Args.OptString(input, "output_mode") ?? "files_with_matches";
        if (mode is not ("files_with_matches" or "content" or "count"))
            throw Args.Bad("`output_mode` must be files_with_matches, content or count");
        var ci = Args.OptBool(input, "case_insensitive") ?? Args.OptBool(input, "-i") ?? false;
        var multiline = Args.OptBool(input, "multiline") ?? false;
        var c = Args.OptInt(input, "-C");
        var after = (int)(c ?? Args.OptInt(input, "-A") ?? 0);
        var before = (int)(c ?? Args.OptInt(input, "-B") ?? 0);
        var headLimit = (int)(Args.OptInt(input, "head_limit") ?? DefaultHeadLimit);
        var offset = (int)(Args.OptInt(input, "offset") ?? 0);
        if (headLimit < 1) throw Args.Bad("`head_limit` must be ≥ 1");
        if (offset < 0 || after < 0 || before < 0) throw Args.Bad("`offset`, `-A`, `-B` and `-C` must be ≥ 0");
        Regex regex;
        try
        {
            var options = RegexOptions.CultureInvariant | (ci ? RegexOptions.IgnoreCase : 0) | (multiline ? RegexOptions.Singleline | RegexOptions.Multiline : 0);
            regex = new Regex(pattern, options, TimeSpan.FromSeconds(5));
        }
        catch (ArgumentException e) { throw Args.Bad($"invalid regex `{pattern}`: {e.Message}"); }
        var glob = Args.OptString(input, "glob") is { Length: > 0 } g ? (GlobPattern.ToRegex(g), !g.Contains('/')) : ((Regex, bool)?)null;
        string[]? extensions = null;
        if (Args.OptString(input, "type") is { Length: > 0 } type)
            extensions = Types.TryGetValue(type, out var exts) ? exts : ["." + type.TrimStart('.')];

        var pathArg = Args.OptString(input, "path");
        var policy = workspace.Policy();
        // Each file is read through its folder's handle while the walk is there; results are ordered afterwards.
        var perFile = Guarded.Run(pathArg, () =>
        {
            var basePath = workspace.CheckSearchBase(pathArg, Name);
            IEnumerable<WalkFile> files = basePath.IsDirectory
                ? SearchWalk.Files(basePath.Real, policy, includeHidden: false, ct)
                : [new WalkFile(Path.GetFileName(basePath.Real), basePath.Real, max => ScopedIo.ReadFile(basePath.Real, max).Bytes)];
            var found = new List<(string Logical, int Lines, List<string> Output)>();
            foreach (var f in files)
            {
                ct.ThrowIfCancellationRequested();
                var rel = f.Rel;
                if (glob is { } gl && !gl.Item1.IsMatch(rel) && !(gl.Item2 && gl.Item1.IsMatch(Path.GetFileName(rel)))) continue;
                if (extensions is not null && !extensions.Any(e => rel.EndsWith(e, StringComparison.OrdinalIgnoreCase))) continue;
                byte[]? bytes;
                try { bytes = f.Read(long.MaxValue); }
                catch (IOException e) when (basePath.IsDirectory || e is not SafeFsException { Changed: true }) { continue; }
                if (bytes is null) continue;
                if (Array.IndexOf(bytes, (byte)0, 0, Math.Min(bytes.Length, 8192)) >= 0) continue; // binary
                var text = Encoding.UTF8.GetString(bytes);
                var lines = FileOps.Lines(text);
                var matched = MatchedLines(regex, text, lines, multiline);
                if (matched.Count == 0) continue;
                var logical = workspace.ToLogical(f.Real);
                var output = mode switch
                {
                    "files_with_matches" => [logical],
                    "count" => [$"{logical}:{matched.Count}"],
                    _ => ContentLines(logical, lines, matched, before, after).ToList(),
                };
                found.Add((logical, matched.Count, output));
            }
            return found;
        });

        var output = new List<string>();
        var fileCount = 0;
        var lineCount = 0;
        foreach (var (_, lines, lines2) in perFile.OrderBy(f => f.Logical, StringComparer.Ordinal))
        {
            fileCount++;
            lineCount += lines;
            output.AddRange(lines2);
        }

        if (fileCount == 0)
            return Task.FromResult(new ToolOutput(mode == "files_with_matches" ? $"No files matched `{pattern}`" : $"No matches for `{pattern}`"));
        var page = output.Skip(offset).Take(headLimit).ToList();
        var truncated = output.Count - offset > headLimit;
        var summary = mode switch
        {
            "files_with_matches" => $"Found matches in {fileCount} file(s)",
            "count" => $"Found {lineCount} total line(s) in {fileCount} file(s)",
            _ => $"{lineCount} matching line(s) in {fileCount} file(s)",
        };
        if (truncated) summary += $" (truncated at {headLimit})";
        return Task.FromResult(new ToolOutput(summary, page.Count == 0 ? null : string.Join("\n", page)));
    }

    /// <summary>0-based indexes of the lines a match touches.</summary>
    private static SortedSet<int> MatchedLines(Regex regex, string text, List<string> lines, bool multiline)
    {
        var set = new SortedSet<int>();
        if (!multiline)
        {
            for (var i = 0; i < lines.Count; i++)
                if (regex.IsMatch(lines[i])) set.Add(i);
            return set;
        }
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++) if (text[i] == '\n') starts.Add(i + 1);
        int LineOf(int pos) { var idx = starts.BinarySearch(pos); return idx >= 0 ? idx : ~idx - 1; }
        foreach (Match m in regex.Matches(text))
        {
            var first = LineOf(m.Index);
            var last = LineOf(Math.Max(m.Index, m.Index + m.Length - 1));
            for (var l = first; l <= last && l < lines.Count; l++) set.Add(l);
        }
        return set;
    }

    private static IEnumerable<string> ContentLines(string file, List<string> lines, SortedSet<int> matched, int before, int after)
    {
        var shown = new SortedSet<int>();
        foreach (var m in matched)
            for (var i = Math.Max(0, m - before); i <= Math.Min(lines.Count - 1, m + after); i++) shown.Add(i);
        var previous = -2;
        foreach (var i in shown)
        {
            if ((before > 0 || after > 0) && previous >= 0 && i != previous + 1) yield return "--";
            yield return matched.Contains(i) ? $"{file}:{i + 1}:{lines[i]}" : $"{file}-{i + 1}-{lines[i]}";
            previous = i;
        }
    }
}
