using System.Text;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;
using Yoi.Messages;

namespace Yoi.Actors.Tools;

/// <summary>`file_ref` segments (reference-protocol §1): a readable file becomes a `[File: path]` attachment (body cut
/// to `engine.file_upload.max_bytes` with a "truncated, N bytes total" hint), a readable folder a shallow
/// `[Dir: path]` listing; anything else an alert text "file ref @path could not be resolved: …". Paths resolve
/// against the Worker's cwd and are checked against its scope like a Read.</summary>
public static class FileRefs
{
    public sealed record Resolution(IReadOnlyList<FileAttachmentSystemItem> Attachments, IReadOnlyList<string> Alerts);

    public static Resolution Resolve(IEnumerable<Segment> input, WorkerManifest manifest)
    {
        var refs = input.OfType<FileRefSegment>().ToList();
        if (refs.Count == 0) return new Resolution([], []);
        var workspace = BuiltinTools.WorkspaceFor(manifest);
        var attachments = new List<FileAttachmentSystemItem>();
        var alerts = new List<string>();
        foreach (var r in refs)
        {
            try
            {
                if (workspace is null) throw new ToolException(ToolErrorKind.InvalidArgument, "this Worker has no filesystem scope");
                attachments.Add(Attach(workspace, r.Path, manifest.Engine.FileUploadMaxBytes));
            }
            catch (Exception e)
            {
                alerts.Add($"file ref @{r.Path} could not be resolved: {(e is ToolException ? e.Message : "I/O operation failed for " + r.Path)}");
            }
        }
        return new Resolution(attachments, alerts);
    }

    private static FileAttachmentSystemItem Attach(Workspace workspace, string path, int maxBytes)
    {
        var full = Path.GetFullPath(path, workspace.Cwd);
        var logical = Path.GetRelativePath(workspace.Root, full).Replace('\\', '/');
        if (logical == ".") logical = "";
        if (logical.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(logical)) throw ScopeErrors.Outside(path);
        // Checked and used through the same symlink-free open (ScopedIo), again if the path changed in between.
        var (dirEntries, bytes, total) = Guarded.Run(path, () =>
        {
            var checkedPath = workspace.Check(logical, Permission.Read);
            if (!checkedPath.Exists) throw ScopeErrors.NotFound(path);
            if (checkedPath.IsDirectory)
            {
                var policy = workspace.Policy();
                var entries = ScopedIo.ListDirectory(checkedPath.Real)
                    .Where(e => policy.PermissionAtCanonical(PathResolution.Join(checkedPath.Real, e.Name)) != Access.None)
                    .Select(e => e.IsDirectory ? e.Name + "/" : e.Name)
                    .Order(StringComparer.Ordinal)
                    .ToList();
                return (entries, Array.Empty<byte>(), 0L);
            }
            var (read, length) = ScopedIo.ReadFile(checkedPath.Real, maxBytes + 4L);
            return ((List<string>?)null, read, length);
        });
        if (dirEntries is not null) return new FileAttachmentSystemItem(path, $"[Dir: {path}]\n" + string.Join("\n", dirEntries));
        var body = total <= maxBytes
            ? Encoding.UTF8.GetString(bytes)
            : FileOps.CutUtf8(Encoding.UTF8.GetString(bytes), maxBytes) + $"\n[… truncated, {total} bytes total]";
        return new FileAttachmentSystemItem(path, $"[File: {path}]\n{body}");
    }
}
