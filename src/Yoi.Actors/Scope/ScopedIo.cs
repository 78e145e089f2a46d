using Microsoft.Win32.SafeHandles;

namespace Yoi.Actors.Scope;

/// <summary>The I/O half of a checked path (<see cref="Workspace.Check"/> gives the canonical path the scope allows):
/// every byte is read or written through handles opened on that canonical path without following any symlink
/// (<see cref="SafeFs"/>), so a folder swapped for a symlink after the check makes the operation fail
/// (<see cref="SafeFsException.Changed"/>; the tools then check again) instead of reaching outside the scope.
///
/// Hard links: a file with several links (st_nlink &gt; 1) may be read and written. Its name is in the scope, and the
/// kernel's protected_hardlinks means whoever linked it could already read and write it. A write never goes through
/// the shared inode: it creates a new file and renames it over the name in the scope, so the other names keep their
/// old content (the link is broken, not written through).</summary>
public static class ScopedIo
{
    /// <summary>The content of an existing regular file at a canonical path (up to <paramref name="max"/> bytes), and
    /// its length. Throws <see cref="SafeFsException"/> (ENOENT, a changed path) or <see cref="IOException"/>.</summary>
    public static (byte[] Bytes, long Length) ReadFile(string canonicalPath, long max = long.MaxValue)
    {
        using var fd = SafeFs.Open(canonicalPath, directory: false);
        var st = SafeFs.Stat(fd);
        if (st.IsDirectory) throw new SafeFsException("read " + canonicalPath, 21 /* EISDIR */);
        if (!st.IsRegular) throw new IOException("not a regular file");
        return SafeFs.ReadAll(fd, max);
    }

    /// <summary>A regular file in an open directory; null when it is not there, not regular, or a symlink.</summary>
    public static byte[]? ReadAt(SafeFileHandle dir, string name, long max = long.MaxValue)
    {
        try
        {
            using var fd = SafeFs.OpenFileAt(dir, name);
            if (!SafeFs.Stat(fd).IsRegular) return null;
            return SafeFs.ReadAll(fd, max).Bytes;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Atomically replaces (or creates) the file at a canonical path. <paramref name="produce"/> gets the
    /// current content (read through the same directory handle; null for a new file) and returns the new content
    /// (it may throw to abort). Missing parent folders are created (<paramref name="createParents"/>) with mkdirat
    /// and opened without following links. The temp file is created with O_CREAT|O_EXCL|O_NOFOLLOW in the verified
    /// directory and renamed within it, so no byte lands outside that directory. An existing file's mode is kept.
    /// Returns the previous content (null = created).</summary>
    public static byte[]? Replace(string canonicalPath, Func<byte[]?, byte[]> produce, bool createParents)
    {
        var name = Path.GetFileName(canonicalPath);
        var parent = PathResolution.Parent(canonicalPath) ?? throw new ArgumentException("no parent: " + canonicalPath);
        using var dir = createParents ? OpenOrCreateDirectory(parent) : SafeFs.Open(parent, directory: true);
        byte[]? current = null;
        var mode = -1;
        if (SafeFs.StatAt(dir, name) is { } st)
        {
            if (st.IsSymlink) throw new SafeFsException("write " + canonicalPath, SafeFs.ELOOP); // the checked target moved
            if (st.IsDirectory) throw new SafeFsException("write " + canonicalPath, 21 /* EISDIR */);
            using var fd = SafeFs.OpenFileAt(dir, name);
            var now = SafeFs.Stat(fd);
            if (!now.IsRegular) throw new IOException("not a regular file");
            current = SafeFs.ReadAll(fd).Bytes;
            mode = now.Permissions;
        }
        var content = produce(current);
        var tmp = $".{(name.Length > 100 ? name[..100] : name)}.yoi-{Guid.NewGuid():N}.tmp";
        try
        {
            using (var fd = SafeFs.CreateExclusiveAt(dir, tmp))
            {
                if (mode >= 0) SafeFs.Chmod(fd, mode);
                using var fs = new FileStream(fd, FileAccess.Write, bufferSize: 0);
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }
            SafeFs.RenameAt(dir, tmp, name);
        }
        catch
        {
            try { SafeFs.UnlinkAt(dir, tmp); } catch (IOException) { /* never created, or already renamed */ }
            throw;
        }
        return current;
    }

    /// <summary>Opens a canonical directory, creating the missing tail: the nearest existing ancestor is opened
    /// without links, then each missing component is made with mkdirat and opened with O_NOFOLLOW.</summary>
    public static SafeFileHandle OpenOrCreateDirectory(string canonicalDir)
    {
        var missing = new Stack<string>();
        var at = canonicalDir;
        while (true)
        {
            try
            {
                var dir = SafeFs.Open(at, directory: true);
                try
                {
                    while (missing.Count > 0)
                    {
                        var part = missing.Pop();
                        try { SafeFs.MkdirAt(dir, part); }
                        catch (SafeFsException e) when (e.Errno == SafeFs.EEXIST) { /* made meanwhile: opened below without links */ }
                        var next = SafeFs.OpenDirectoryAt(dir, part);
                        dir.Dispose();
                        dir = next;
                    }
                    return dir;
                }
                catch
                {
                    dir.Dispose();
                    throw;
                }
            }
            catch (SafeFsException e) when (e.NotFound && PathResolution.Parent(at) is { } up)
            {
                missing.Push(Path.GetFileName(at));
                at = up;
            }
        }
    }

    /// <summary>The entries of a canonical directory (names, "/" appended to folders), without following links.</summary>
    public static List<(string Name, bool IsDirectory)> ListDirectory(string canonicalDir)
    {
        using var dir = SafeFs.Open(canonicalDir, directory: true);
        var result = new List<(string, bool)>();
        foreach (var (name, type) in SafeFs.List(dir))
        {
            var isDir = type == 4 || (type == 0 && SafeFs.StatAt(dir, name) is { IsDirectory: true });
            result.Add((name, isDir));
        }
        return result;
    }
}
