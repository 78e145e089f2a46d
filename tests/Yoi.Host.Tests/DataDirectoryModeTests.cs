using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>The data directory is private whatever the umask: a real `yoi serve` started under umask 000.</summary>
public sealed class DataDirectoryModeTests
{
    private const UnixFileMode Dir0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8);

    [Fact(Timeout = 90_000)]
    public async Task Under_umask_000_the_home_run_journal_snapshots_wal_and_shm_are_private()
    {
        using var dir = new TempDir("yoi-modes");
        var home = Path.Combine(dir.Path, "home"); // created by the node
        await using var server = await YoiServer.StartUnderUmaskAsync(home, "000");

        // A journal write, so the journal's -wal and -shm exist (the plugins keep their connections open).
        await using (var client = await WireClient.ConnectAsync(server.SocketPath))
            await client.AttachAsync("modes", Scripted.Create(dir, "modes", Scripted.Text("hi")));

        Assert.True(File.Exists(Path.Combine(home, "yoi.db-wal")), "no -wal file:\n" + string.Join("\n", Directory.EnumerateFileSystemEntries(home)));
        Assert.True(File.Exists(Path.Combine(home, "yoi.db-shm")), "no -shm file");
        Assert.True(File.Exists(Path.Combine(home, "yoi-snapshots.db")), "no snapshot file");
        var wrong = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories).Prepend(home))
        {
            var mode = File.GetUnixFileMode(entry);
            var wanted = Directory.Exists(entry) ? Dir0700 : File0600;
            if (mode != wanted) wrong.Add($"{entry}: {Octal(mode)} (want {Octal(wanted)})");
        }
        Assert.True(wrong.Count == 0, "not private under umask 000:\n" + string.Join("\n", wrong));
    }

    [Fact(Timeout = 90_000)]
    public async Task An_existing_wider_home_and_journal_are_tightened_at_start_with_a_log_line()
    {
        using var dir = new TempDir("yoi-modes");
        var home = Path.Combine(dir.Path, "home");
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, Dir0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var journal = Path.Combine(home, "yoi.db");
        await File.WriteAllBytesAsync(journal, []); // an empty file is an empty SQLite database
        File.SetUnixFileMode(journal, File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using var server = await YoiServer.StartAsync(home);

        Assert.Equal(Dir0700, File.GetUnixFileMode(home));
        Assert.Equal(File0600, File.GetUnixFileMode(journal));
        Assert.Contains($"tightened {home} from 0755 to 0700", server.Output);
        Assert.Contains($"tightened {journal} from 0644 to 0600", server.Output);
    }
}
