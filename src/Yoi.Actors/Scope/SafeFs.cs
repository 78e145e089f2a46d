using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Yoi.Actors.Scope;

/// <summary>A failed system call: <see cref="Errno"/> tells a vanished entry (ENOENT) from a path that changed under
/// us (ELOOP, ENOTDIR, EXDEV: a symlink appeared where the checked path had a real directory).</summary>
public sealed class SafeFsException(string op, int errno) : IOException($"{op} failed (errno {errno})")
{
    public int Errno { get; } = errno;

    public bool NotFound => Errno == SafeFs.ENOENT;

    /// <summary>The checked path no longer leads to the same kind of object without a symlink.</summary>
    public bool Changed => Errno is SafeFs.ELOOP or SafeFs.ENOTDIR or SafeFs.EXDEV;
}

/// <summary>What <c>statx</c> says about an entry (never following a final symlink).</summary>
public readonly record struct EntryStat(int Mode, uint Links, long Size)
{
    public bool IsRegular => (Mode & 0xF000) == 0x8000;
    public bool IsDirectory => (Mode & 0xF000) == 0x4000;
    public bool IsSymlink => (Mode & 0xF000) == 0xA000;
    public int Permissions => Mode & 0xFFF;
}

/// <summary>Handle-relative file system calls (Linux), so a path checked against the scope is the path used: a
/// canonical (symlink-free) path is opened with <c>openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS)</c>, so any symlink swapped in after the check makes the open fail instead of leading out
/// (spec README "beyond the reference" 11). Without openat2 (ENOSYS, or EPERM from a seccomp filter) the path is
/// walked one component at a time with <c>openat(O_NOFOLLOW | O_DIRECTORY)</c>. Everything after the open (reads,
/// the temp file of a write, its rename, directory listings) goes through the directory handle.
/// .NET has no openat/renameat/getdents API, hence the P/Invoke.</summary>
public static class SafeFs
{
    public const int ENOENT = 2, EEXIST = 17, ENOTDIR = 20, EXDEV = 18, ELOOP = 40, ENOSYS = 38, EPERM = 1, EINTR = 4, EAGAIN = 11;

    private const int AT_FDCWD = -100;
    private const int O_WRONLY = 0x1, O_CREAT = 0x40, O_EXCL = 0x80, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private const int AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    private const long SYS_openat2 = 437; // the same number on every architecture (added after the syscall table unification)

    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    // arm64 keeps the historical ARM values for these two flags.
    private static readonly int O_DIRECTORY = Arm64 ? 0x4000 : 0x10000;
    private static readonly int O_NOFOLLOW = Arm64 ? 0x8000 : 0x20000;
    private static readonly long SYS_getdents64 = Arm64 ? 61 : 217;

    /// <summary>Linux on x86_64 or arm64, the only platforms whose flag values this class knows.</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    private static volatile int _openat2 = 1; // 1 = try, 0 = the kernel (or a seccomp filter) does not have it

    private static readonly AsyncLocal<bool> ForceWalk = new();

    /// <summary>Tests: force the component-by-component walk (for the calling flow only).</summary>
    internal static bool ForceComponentWalk { get => ForceWalk.Value; set => ForceWalk.Value = value; }

    /// <summary>Whether the last opens used openat2 (for the README/greeting and tests).</summary>
    public static bool UsesOpenat2 => _openat2 == 1 && !ForceComponentWalk;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SysOpenat2(long number, int dirfd, string path, ref OpenHow how, nuint size);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SysGetdents64(long number, int fd, byte[] buffer, nuint count);

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int OpenAtNative(int dirfd, string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int StatxNative(int dirfd, string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static extern int MkdirAtNative(int dirfd, string path, int mode);

    [DllImport("libc", EntryPoint = "renameat", SetLastError = true)]
    private static extern int RenameAtNative(int olddirfd, string oldpath, int newdirfd, string newpath);

    [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static extern int UnlinkAtNative(int dirfd, string path, int flags);

    [DllImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static extern int FchmodNative(int fd, int mode);

    private static void RequireSupported()
    {
        if (!Supported) throw new PlatformNotSupportedException("the file tools need Linux (x86_64 or arm64): they open paths through directory handles");
    }

    private static int Fd(SafeFileHandle h) => (int)h.DangerousGetHandle();

    private static SafeFileHandle Own(int fd) => new((IntPtr)fd, ownsHandle: true);

    private static int Errno() => Marshal.GetLastPInvokeError();

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name == "." || name == ".." || name.Contains('/') || name.Contains('\0'))
            throw new ArgumentException($"not a single path component: `{name}`");
    }

    /// <summary>Opens an absolute canonical path with no symlink anywhere on the way (not even the last component).
    /// <paramref name="directory"/> adds O_DIRECTORY; files are opened read-only, non-blocking (a FIFO never hangs).</summary>
    public static SafeFileHandle Open(string canonicalPath, bool directory)
    {
        RequireSupported();
        if (!canonicalPath.StartsWith('/')) throw new ArgumentException($"path must be absolute: {canonicalPath}");
        var flags = O_CLOEXEC | O_NOFOLLOW | (directory ? O_DIRECTORY : O_NONBLOCK);
        if (_openat2 == 1 && !ForceComponentWalk)
        {
            // Relative to "/" so RESOLVE_BENEATH applies (it refuses absolute paths and `..` escapes); the guarantee
            // that matters is RESOLVE_NO_SYMLINKS on a path that is symlink-free when checked.
            var rel = canonicalPath.TrimStart('/');
            if (rel.Length == 0) rel = ".";
            var how = new OpenHow { Flags = (ulong)flags, Resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
            using var root = RootHandle();
            while (true)
            {
                var fd = SysOpenat2(SYS_openat2, Fd(root), rel, ref how, (nuint)Marshal.SizeOf<OpenHow>());
                if (fd >= 0) return Own((int)fd);
                var e = Errno();
                if (e is EINTR or EAGAIN) continue;
                if (e is ENOSYS or EPERM) { _openat2 = 0; break; }
                throw new SafeFsException("openat2 " + canonicalPath, e);
            }
        }
        return WalkComponents(canonicalPath, directory);
    }

    private static SafeFileHandle RootHandle()
    {
        var fd = OpenAtNative(AT_FDCWD, "/", O_DIRECTORY | O_CLOEXEC, 0);
        return fd >= 0 ? Own(fd) : throw new SafeFsException("open /", Errno());
    }

    /// <summary>The fallback: each component opened with O_NOFOLLOW from its parent's handle, so every directory
    /// passed is a real directory at a prefix of the checked path.</summary>
    private static SafeFileHandle WalkComponents(string canonicalPath, bool directory)
    {
        var parts = canonicalPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = RootHandle();
        try
        {
            for (var i = 0; i < parts.Length; i++)
            {
                var last = i == parts.Length - 1;
                var next = last && !directory ? OpenFileAt(current, parts[i]) : OpenDirectoryAt(current, parts[i]);
                current.Dispose();
                current = next;
            }
            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>A child directory of an open directory, refusing a symlink (ELOOP/ENOTDIR).</summary>
    public static SafeFileHandle OpenDirectoryAt(SafeFileHandle dir, string name)
    {
        CheckName(name);
        var fd = OpenAtNative(Fd(dir), name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        return fd >= 0 ? Own(fd) : throw new SafeFsException("openat " + name, Errno());
    }

    /// <summary>A file in an open directory, read-only, refusing a symlink.</summary>
    public static SafeFileHandle OpenFileAt(SafeFileHandle dir, string name)
    {
        CheckName(name);
        var fd = OpenAtNative(Fd(dir), name, O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
        return fd >= 0 ? Own(fd) : throw new SafeFsException("openat " + name, Errno());
    }

    /// <summary>A new file in an open directory: O_CREAT | O_EXCL | O_NOFOLLOW, so nothing already there (a planted
    /// symlink included) is ever opened.</summary>
    public static SafeFileHandle CreateExclusiveAt(SafeFileHandle dir, string name, int mode = 0x1B6 /* 0666, less umask */)
    {
        CheckName(name);
        var fd = OpenAtNative(Fd(dir), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        return fd >= 0 ? Own(fd) : throw new SafeFsException("openat(O_CREAT|O_EXCL) " + name, Errno());
    }

    public static EntryStat Stat(SafeFileHandle fd) => StatCore(Fd(fd), "", AT_EMPTY_PATH, "fstat");

    /// <summary>The entry <paramref name="name"/> in an open directory (a symlink is reported as one); null when absent.</summary>
    public static EntryStat? StatAt(SafeFileHandle dir, string name)
    {
        CheckName(name);
        try { return StatCore(Fd(dir), name, AT_SYMLINK_NOFOLLOW, "statx " + name); }
        catch (SafeFsException e) when (e.NotFound) { return null; }
    }

    private static EntryStat StatCore(int dirfd, string path, int flags, string op)
    {
        // struct statx has the same layout on every architecture: nlink u32 @16, mode u16 @28, size u64 @40.
        var buf = new byte[256];
        if (StatxNative(dirfd, path, flags, 0x7FF /* STATX_BASIC_STATS */, buf) != 0) throw new SafeFsException(op, Errno());
        return new EntryStat(BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(28)),
            BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(16)), (long)BinaryPrimitives.ReadUInt64LittleEndian(buf.AsSpan(40)));
    }

    /// <summary>The names in an open directory (getdents64), without "." and "..", with the kernel's d_type
    /// (0 = unknown, 4 = directory, 8 = regular, 10 = symlink).</summary>
    public static List<(string Name, byte Type)> List(SafeFileHandle dir)
    {
        // getdents64 reads from the handle's offset: use a fresh handle on the same directory so the caller's stays at 0.
        using var own = OpenAtReopen(dir);
        var result = new List<(string, byte)>();
        var buf = new byte[32 * 1024];
        while (true)
        {
            var n = SysGetdents64(SYS_getdents64, Fd(own), buf, (nuint)buf.Length);
            if (n < 0)
            {
                if (Errno() == EINTR) continue;
                throw new SafeFsException("getdents64", Errno());
            }
            if (n == 0) return result;
            for (var off = 0; off < n;)
            {
                var reclen = BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(off + 16));
                var type = buf[off + 18];
                var nameSpan = buf.AsSpan(off + 19, reclen - 19);
                var end = nameSpan.IndexOf((byte)0);
                var name = Encoding.UTF8.GetString(end >= 0 ? nameSpan[..end] : nameSpan);
                if (name is not ("." or "..")) result.Add((name, type));
                off += reclen;
            }
        }
    }

    private static SafeFileHandle OpenAtReopen(SafeFileHandle dir)
    {
        var fd = OpenAtNative(Fd(dir), ".", O_DIRECTORY | O_CLOEXEC, 0);
        return fd >= 0 ? Own(fd) : throw new SafeFsException("openat .", Errno());
    }

    public static void MkdirAt(SafeFileHandle dir, string name, int mode = 0x1FF /* 0777, less umask */)
    {
        CheckName(name);
        if (MkdirAtNative(Fd(dir), name, mode) != 0) throw new SafeFsException("mkdirat " + name, Errno());
    }

    /// <summary>rename within one directory handle: both names are looked up in that directory, nowhere else.</summary>
    public static void RenameAt(SafeFileHandle dir, string from, string to)
    {
        CheckName(from);
        CheckName(to);
        if (RenameAtNative(Fd(dir), from, Fd(dir), to) != 0) throw new SafeFsException("renameat " + to, Errno());
    }

    public static void UnlinkAt(SafeFileHandle dir, string name)
    {
        CheckName(name);
        if (UnlinkAtNative(Fd(dir), name, 0) != 0) throw new SafeFsException("unlinkat " + name, Errno());
    }

    public static void Chmod(SafeFileHandle fd, int mode)
    {
        if (FchmodNative(Fd(fd), mode) != 0) throw new SafeFsException("fchmod", Errno());
    }

    /// <summary>The whole content of an open file (at most <paramref name="max"/> bytes), and its length.</summary>
    public static (byte[] Bytes, long Length) ReadAll(SafeFileHandle file, long max = long.MaxValue)
    {
        var length = RandomAccess.GetLength(file);
        using var fs = new FileStream(file, FileAccess.Read, bufferSize: 0);
        var ms = new MemoryStream((int)Math.Min(Math.Min(length, max), int.MaxValue));
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while (total < max && (n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, max - total))) > 0)
        {
            ms.Write(buffer, 0, n);
            total += n;
        }
        return (ms.ToArray(), Math.Max(length, total));
    }
}
