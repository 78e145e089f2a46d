using System.Text;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>Read (reference-delegation §7): `cat -n` output of the selected lines, at most 256 KiB; records the hash.</summary>
public sealed class ReadTool(Workspace workspace, FileTracker tracker) : ITool
{
    public bool ReadOnly => true;

    public Workspace Workspace => workspace;

    /// <summary>Shared with Write/Edit: read-before-write hashes and the recently touched files.</summary>
    public FileTracker Tracker => tracker;

    public const int MaxBytes = 256 * 1024;
    public const int DefaultLimit = 2000;

    public string Name => "Read";
    public string Description => "Read a text file in the workspace. Output is numbered like `cat -n`. Paths are relative to the workspace root. Use offset (0-based line) and limit (default 2000) for large files.";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "file_path":{"type":"string","description":"File path relative to the workspace root"},
          "offset":{"type":"integer","minimum":0,"description":"0-based line to start from (default 0)"},
          "limit":{"type":"integer","minimum":1,"description":"Maximum number of lines (default 2000)"}},
         "required":["file_path"]}
        """);

    public Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var logical = Args.String(input, "file_path");
        var offset = Args.OptInt(input, "offset") ?? 0;
        if (offset < 0) throw Args.Bad("`offset` must be ≥ 0");
        var limit = Args.OptInt(input, "limit") ?? DefaultLimit;
        if (limit < 1) throw Args.Bad("`limit` must be ≥ 1");

        // Checked and read through the same symlink-free open (ScopedIo), again if the path changed in between.
        var (path, bytes) = Guarded.Run(logical, () =>
        {
            var p = workspace.CheckReadFile(logical);
            return (p, ScopedIo.ReadFile(p.Real).Bytes);
        });
        tracker.Record(path.Real, bytes, path.Logical);

        var lines = FileOps.Lines(Encoding.UTF8.GetString(bytes));
        if (offset > lines.Count) throw Args.Bad($"offset {offset} exceeds file length {lines.Count}");
        var sb = new StringBuilder();
        var bytesUsed = 0;
        var shown = 0;
        var cut = false;
        for (var i = (int)offset; i < lines.Count && shown < limit; i++)
        {
            var line = FileOps.Numbered(i + 1, lines[i]) + "\n";
            var n = Encoding.UTF8.GetByteCount(line);
            if (bytesUsed + n > MaxBytes)
            {
                var rest = FileOps.CutUtf8(line, MaxBytes - bytesUsed);
                if (rest.Length > 0) { sb.Append(rest); shown++; }
                cut = true;
                break;
            }
            sb.Append(line);
            bytesUsed += n;
            shown++;
        }
        var truncated = cut || offset + shown < lines.Count;
        var summary = truncated || offset > 0
            ? $"Read {shown} line(s) [{(shown == 0 ? offset : offset + 1)}..{offset + shown}] of {lines.Count} from {path.Logical}"
            : $"Read {shown} line(s) from {path.Logical}";
        var content = sb.ToString().TrimEnd('\n');
        return Task.FromResult(new ToolOutput(summary, content.Length == 0 ? null : content));
    }
}

/// <summary>Write: new files need a writable parent (created as needed); existing files need a prior Read with a
/// matching hash. Atomic (temp file + rename).</summary>
public sealed class WriteTool(Workspace workspace, FileTracker tracker) : ITool
{
    public string Name => "Write";
    public string Description => "Write a file in the workspace (creating parent folders). Overwriting an existing file requires reading it first. Paths are relative to the workspace root.";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "file_path":{"type":"string","description":"File path relative to the workspace root"},
          "content":{"type":"string","description":"The complete new file content"}},
         "required":["file_path","content"]}
        """);

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var logical = Args.String(input, "file_path");
        var content = Args.String(input, "content");
        var bytes = Encoding.UTF8.GetBytes(content);
        return await Guarded.RunAsync(logical, async () =>
        {
            var path = workspace.CheckWriteFile(logical);
            using var _ = await tracker.LockAsync(path.Real, ct).ConfigureAwait(false);
            // The current content is read through the directory handle the temp file is created in (ScopedIo.Replace).
            var previous = ScopedIo.Replace(path.Real, current =>
            {
                if (current is not null) tracker.Verify(path.Real, current, path.Logical);
                return bytes;
            }, createParents: true);
            tracker.Changed(path.Real, bytes, path.Logical, FileOps.LineCount(content),
                previous is null ? 0 : FileOps.LineCount(Encoding.UTF8.GetString(previous)));
            return previous is null
                ? new ToolOutput($"Created {path.Logical} ({bytes.Length} bytes)")
                : new ToolOutput($"Overwrote {path.Logical} ({bytes.Length} bytes)");
        }).ConfigureAwait(false);
    }
}

/// <summary>Edit: exact string replacement in a UTF-8 file that was Read (matching hash); atomic.</summary>
public sealed class EditTool(Workspace workspace, FileTracker tracker) : ITool
{
    public string Name => "Edit";
    public string Description => "Replace an exact string in a file that was read first. old_string must match exactly once unless replace_all is true.";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "file_path":{"type":"string","description":"File path relative to the workspace root"},
          "old_string":{"type":"string","description":"Exact text to replace"},
          "new_string":{"type":"string","description":"Replacement text"},
          "replace_all":{"type":"boolean","description":"Replace every occurrence (default false)"}},
         "required":["file_path","old_string","new_string"]}
        """);

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var logical = Args.String(input, "file_path");
        var oldString = Args.String(input, "old_string");
        var newString = Args.String(input, "new_string");
        var all = Args.OptBool(input, "replace_all") ?? false;
        if (oldString.Length == 0) throw Args.Bad("old_string must not be empty");
        if (oldString == newString) throw Args.Bad("old_string and new_string are identical");
        return await Guarded.RunAsync(logical, async () =>
        {
            var path = workspace.CheckWriteFile(logical);
            if (!path.Exists) throw ScopeErrors.NotFound(path.Logical);
            using var _ = await tracker.LockAsync(path.Real, ct).ConfigureAwait(false);
            var replaced = 0;
            byte[] bytes = [];
            ScopedIo.Replace(path.Real, current =>
            {
                if (current is null) throw ScopeErrors.NotFound(path.Logical);
                tracker.Verify(path.Real, current, path.Logical);
                var text = FileOps.DecodeUtf8(current) ?? throw Args.Bad($"file is not valid UTF-8: {path.Logical}");
                var count = Count(text, oldString);
                if (count == 0) throw Args.Bad($"old_string was not found in {path.Logical}");
                if (count > 1 && !all) throw Args.Bad($"old_string matched {count} times in {path.Logical}; set replace_all or give a longer, unique old_string");
                var updated = all ? text.Replace(oldString, newString, StringComparison.Ordinal) : ReplaceFirst(text, oldString, newString);
                replaced = all ? count : 1;
                return bytes = Encoding.UTF8.GetBytes(updated);
            }, createParents: false);
            tracker.Changed(path.Real, bytes, path.Logical, replaced * FileOps.LineCount(newString), replaced * FileOps.LineCount(oldString));
            var preview = string.Join("\n", FileOps.Lines(newString).Take(4).Select((l, i) => FileOps.Numbered(i + 1, l)));
            return new ToolOutput($"Edited {path.Logical} ({replaced} replacement{(replaced == 1 ? "" : "s")})", preview.Length == 0 ? null : preview);
        }).ConfigureAwait(false);
    }

    private static int Count(string text, string s)
    {
        var n = 0;
        for (var i = text.IndexOf(s, StringComparison.Ordinal); i >= 0; i = text.IndexOf(s, i + s.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string ReplaceFirst(string text, string oldString, string newString)
    {
        var i = text.IndexOf(oldString, StringComparison.Ordinal);
        return text[..i] + newString + text[(i + oldString.Length)..];
    }
}
