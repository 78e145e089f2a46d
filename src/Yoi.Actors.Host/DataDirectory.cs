using Yoi.Actors.Hosting;

namespace Yoi.Actors.Host;

/// <summary>The data directory is private whatever the process umask: the home and `run/` 0700, the SQLite journal
/// and snapshot files (with `-wal`, `-shm`, `-journal`) 0600. Files are created with their mode (not chmod-ed after
/// the fact), and SQLite creates `-wal`/`-shm` with the mode of their database file, so no moment exists at which
/// another local user could open one. Existing wider modes are tightened, and each tightening is reported.</summary>
public static class DataDirectory
{
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly string[] SqliteCompanions = ["", "-wal", "-shm", "-journal"];

    /// <summary>Creates or tightens everything the node keeps under (or, for `--journal sqlite:PATH`, beside) its home.
    /// Returns one message per path whose mode was tightened (the caller logs them).</summary>
    public static IReadOnlyList<string> Secure(YoiNodeOptions options)
    {
        if (OperatingSystem.IsWindows()) return [];
        var tightened = new List<string>();
        EnsureDirectory(options.Home, tightened);
        EnsureDirectory(Path.GetDirectoryName(options.SocketPath)!, tightened);
        var journal = JournalConfig.From(options);
        foreach (var db in new[] { journal.SqliteFile, journal.SnapshotSqliteFile })
        {
            if (db is null) continue;
            EnsureDirectory(Path.GetDirectoryName(db)!, tightened, createOnly: !IsUnder(db, options.Home));
            foreach (var suffix in SqliteCompanions)
            {
                var path = db + suffix;
                if (File.Exists(path)) Tighten(path, PrivateFile, tightened);
                else if (suffix == "") CreatePrivateFile(path); // an empty file is an empty SQLite database
            }
        }
        return tightened;
    }

    /// <summary>Creates an empty file readable and writable by the owner only (for logs or any other node file).</summary>
    public static void CreatePrivateFile(string path)
    {
        using var _ = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = OperatingSystem.IsWindows() ? null : PrivateFile,
        });
    }

    private static void EnsureDirectory(string dir, List<string> tightened, bool createOnly = false)
    {
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, PrivateDirectory);
            return;
        }
        if (!createOnly) Tighten(dir, PrivateDirectory, tightened);
    }

    private static void Tighten(string path, UnixFileMode wanted, List<string> tightened)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~wanted) == 0) return;
        File.SetUnixFileMode(path, mode & wanted);
        tightened.Add($"tightened {path} from {Octal(mode)} to {Octal(mode & wanted)} (the data directory is private)");
    }

    private static bool IsUnder(string path, string dir) =>
        Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8).PadLeft(3, '0');
}
