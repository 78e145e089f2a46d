using System.Diagnostics;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests;

/// <summary>`yoi attach` in a real terminal: the console runs under tmux, the test types input and commands with
/// `send-keys` and reads the screen with `capture-pane`.</summary>
public sealed class AttachTmuxTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>A private tmux server (its own socket name) with one session running a command.</summary>
    private sealed class Tmux : IAsyncDisposable
    {
        private readonly string _socket = "yoi-test-" + Guid.NewGuid().ToString("N")[..8];

        public static string? Path()
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = System.IO.Path.Combine(dir, "tmux");
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        public async Task<string> RunAsync(params string[] args)
        {
            var psi = new ProcessStartInfo(Path()!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-L");
            psi.ArgumentList.Add(_socket);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment.Remove("TMUX");
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}");
            return await stdout;
        }

        public Task<string> ScreenAsync() => RunAsync("capture-pane", "-p", "-J", "-t", "main", "-S", "-500");

        public async Task TypeAsync(string text)
        {
            await RunAsync("send-keys", "-t", "main", "-l", text);
            await RunAsync("send-keys", "-t", "main", "Enter");
        }

        public async Task<string> WaitForAsync(Func<string, bool> predicate, string what, TimeSpan? timeout = null)
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
            while (true)
            {
                var screen = await ScreenAsync();
                if (predicate(screen)) return screen;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"screen never showed {what}; screen:\n{screen}");
                await Task.Delay(150);
            }
        }

        public async ValueTask DisposeAsync()
        {
            try { await RunAsync("kill-server"); } catch { /* already gone */ }
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    [Fact(Timeout = 120_000)]
    public async Task Attach_console_takes_input_pauses_resumes_and_lists_rewind_targets_under_tmux()
    {
        if (Tmux.Path() is null)
            Assert.Skip("tmux is not installed, so the terminal test of `yoi attach` cannot run here (`.ci/run` installs it and fails if it cannot)");

        const string worker = "tmux-console";
        var manifest = fixture.Dir.File(worker + ".toml");
        File.WriteAllText(manifest, Scripted.Manifest(fixture.Dir, worker,
            Scripted.Text("Hi from ", "the console"),
            """{"items":[{"text":["working on it"]},{"hang":true}]}""", // output first: a pause keeps the turn (no rollback)
            Scripted.Text("resumed and done")));

        var home = fixture.Dir.Path;
        var command = string.Join(' ', new[] { YoiExecutable.DotnetHost, YoiExecutable.DllPath, "attach", worker, "--manifest", manifest, "--home", home }.Select(Quote));
        await using var tmux = new Tmux();
        await tmux.RunAsync("new-session", "-d", "-s", "main", "-x", "160", "-y", "50", $"env -u YOI_HOME {command}; echo \"yoi exited $?\"; sleep 60");

        await tmux.WaitForAsync(s => s.Contains("/help lists the commands"), "the console's greeting", TimeSpan.FromSeconds(40));
        Assert.Contains("tmux-console", await tmux.ScreenAsync());

        await tmux.TypeAsync("hello there");
        var screen = await tmux.WaitForAsync(s => s.Contains("Hi from the console"), "the streamed reply");
        Assert.Contains("> hello there", screen);

        await tmux.TypeAsync("keep working");
        await tmux.WaitForAsync(s => s.Contains("> keep working") && s.Contains("working on it"), "the second run streaming");

        await tmux.TypeAsync("/pause");
        screen = await tmux.WaitForAsync(s => s.Contains("paused"), "the paused status");
        Assert.Contains("run ended: paused", screen);

        await tmux.TypeAsync("/resume");
        await tmux.WaitForAsync(s => s.Contains("resumed and done"), "the resumed turn's text");

        await tmux.TypeAsync("/rewind");
        screen = await tmux.WaitForAsync(s => s.Contains("choose with /rewind N"), "the rewind targets");
        Assert.Contains("hello there", screen);

        await tmux.TypeAsync("/quit");
        // the console exits cleanly (the shell then reports the exit code)
        await tmux.WaitForAsync(s => s.Contains("yoi exited 0"), "the console's exit");
    }

    private static int CountOf(string s, string what)
    {
        var n = 0;
        for (var i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
