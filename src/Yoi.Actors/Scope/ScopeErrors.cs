using Yoi.Messages;
using Yoi.Actors.Engine;

namespace Yoi.Actors.Scope;

/// <summary>The scope error catalogue as the model sees it (reference-delegation §4.9, §4.9a). Internal link
/// targets never appear in a message.</summary>
public static class ScopeErrors
{
    public const string InternalTarget = "<provider-internal target>";

    public static ToolException InvalidPath(string logical) => new(ToolErrorKind.InvalidArgument,
        $"invalid Workdir path `{logical}`: use a path relative to the workspace root, without a leading `/`, `..` components or `\\`");

    public static ToolException Outside(string logical) => new(ToolErrorKind.InvalidArgument, $"path is outside allowed scope: {logical}");

    public static ToolException ReadOnly(string logical) => new(ToolErrorKind.InvalidArgument, $"path is read-only: {logical}");

    public static ToolException SymlinkOutside(string logical, Permission needed)
    {
        var kind = needed == Permission.Write ? "write" : "read";
        return new(ToolErrorKind.InvalidArgument,
            $"{logical} resolves through a symlink outside allowed {kind} scope (target {InternalTarget}); " +
            $"add the link target to the Worker's scope with {kind} permission to use it");
    }

    public static ToolException BrokenSymlink(string logical) => new(ToolErrorKind.InvalidArgument, $"{logical} is a broken symlink");

    public static ToolException SymlinkToDirectory(string logical) => new(ToolErrorKind.InvalidArgument,
        $"{logical} is a symlink to a directory, but this tool requires a file");

    public static ToolException SymlinkDirectoryBase(string logical, string tool) => new(ToolErrorKind.InvalidArgument,
        $"{logical} is a symlinked directory; {tool} does not follow symlink directories");

    public static ToolException IsDirectory(string logical) => new(ToolErrorKind.InvalidArgument, $"expected file but path is a directory: {logical}");

    public static ToolException NotADirectory(string logical) => new(ToolErrorKind.InvalidArgument, $"expected directory but path is a file: {logical}");

    public static ToolException NotFound(string logical) => new(ToolErrorKind.ExecutionFailed, $"file not found: {logical}");

    public static ToolException Io(string logical) => new(ToolErrorKind.ExecutionFailed, $"I/O operation failed for {logical}");

    /// <summary>The checked path kept changing under the tool (a folder on it became a symlink).</summary>
    public static ToolException Changed(string logical) => new(ToolErrorKind.ExecutionFailed,
        $"{logical} changed while it was being used (a folder on the way was replaced by a symlink); nothing was read or written through it");

    public static ToolException NotRead(string logical) => new(ToolErrorKind.InvalidArgument,
        $"file has not been read in this session; read it first: {logical}");

    public static ToolException ModifiedExternally(string logical) => new(ToolErrorKind.InvalidArgument,
        $"{logical} was modified externally before the operation could be applied; read it again first");

    public static ToolException WriteLoanHeld() => new(ToolErrorKind.InvalidArgument,
        "Workdir operation denied: command execution is denied while a child holds a write delegation");
}
