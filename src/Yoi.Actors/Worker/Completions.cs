using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>File completion candidates under the Worker's working directory (`[worker] cwd`, else the workspace root; never outside it).</summary>
public static class Completions
{
    public const int MaxEntries = 200;

    public static CompletionsEvent List(string? cwd, string prefix)
    {
        if (cwd is null || prefix.Contains("..") || Path.IsPathRooted(prefix))
            return new CompletionsEvent(CompletionKind.File, []);
        var slash = prefix.LastIndexOf('/');
        var dirPart = slash >= 0 ? prefix[..(slash + 1)] : "";
        var namePart = slash >= 0 ? prefix[(slash + 1)..] : prefix;
        var dir = Path.Combine(cwd, dirPart);
        if (!Directory.Exists(dir)) return new CompletionsEvent(CompletionKind.File, []);
        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos()
            .Where(i => i.Name.StartsWith(namePart, StringComparison.Ordinal))
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .Take(MaxEntries)
            .Select(i => new CompletionEntry(dirPart + i.Name, i is DirectoryInfo))
            .ToList();
        return new CompletionsEvent(CompletionKind.File, entries);
    }
}
