using System.Runtime.InteropServices;

namespace Yoi.Actors.Scope;

/// <summary>Path resolution of reference-delegation §4.2: an existing path is canonicalised (symlinks and
/// <c>..</c> resolved); for a missing path the nearest existing ancestor is canonicalised and the missing tail
/// re-appended verbatim (a <c>..</c> in the tail makes it unresolvable). Comparisons are component-wise.</summary>
public static class PathResolution
{
    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr RealPathNative(string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void Free(IntPtr ptr);

    /// <summary>The canonical form of an existing path (every symlink followed), or null when it does not
    /// resolve (missing, broken link, loop, permission).</summary>
    public static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                var full = Path.GetFullPath(path);
                if (!File.Exists(full) && !Directory.Exists(full)) return null;
                FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
                return info.ResolveLinkTarget(true)?.FullName ?? full;
            }
            catch (IOException) { return null; }
        }
        var p = RealPathNative(path, IntPtr.Zero);
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Free(p); }
    }

    /// <summary>§4.2 for an absolute path; null = unresolvable (no access). Throws for a relative path.</summary>
    public static string? Resolve(string path)
    {
        if (!Path.IsPathRooted(path)) throw new ArgumentException($"path must be absolute: {path}");
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = parts.Length; i >= 0; i--)
        {
            var prefix = "/" + string.Join('/', parts.Take(i));
            if (RealPath(prefix) is not { } real) continue;
            var result = real;
            foreach (var tail in parts.Skip(i))
            {
                if (tail == ".") continue;
                if (tail == "..") return null; // a tail component with no file name
                result = Join(result, tail);
            }
            return result;
        }
        return null;
    }

    public static string Join(string dir, string name) => dir.EndsWith('/') ? dir + name : dir + "/" + name;

    /// <summary>Component-wise: <paramref name="path"/> is <paramref name="root"/> or below it.</summary>
    public static bool IsAtOrUnder(string path, string root) =>
        path == root || root == "/" || path.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);

    /// <summary>The parent directory (component-wise), or null for the root.</summary>
    public static string? Parent(string path)
    {
        if (path == "/") return null;
        var i = path.TrimEnd('/').LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }

    public static bool IsSymlink(string path)
    {
        try { return new FileInfo(path).LinkTarget is not null; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
