using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A real `yoi serve --home DIR` process. <see cref="StartAsync"/> waits for the "yoi node up" line;
/// disposing kills the process tree. stdout/stderr are kept for diagnostics.</summary>
public sealed class YoiServer : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90); // a loaded 2-core CI box starts three nodes at once

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<string> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private YoiServer(Process process, string home)
    {
        _process = process;
        Home = home;
    }

    public string Home { get; }
    public string SocketPath => Path.Combine(Home, "run", "yoi.sock");
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote so far (stdout and stderr interleaved, prefixed).</summary>
    public string Output => string.Join("\n", _output);

    /// <summary>`host:port` of the TCP endpoint when started with `--listen`.</summary>
    public string? TcpEndPoint { get; private set; }

    public static Task<YoiServer> StartAsync(string home, params string[] extraArgs) => StartAsync(home, null, extraArgs);

    public static Task<YoiServer> StartAsync(string home, IReadOnlyDictionary<string, string>? environment, params string[] extraArgs) =>
        StartCoreAsync(home, environment, umask: null, launcher: null, extraArgs);

    /// <summary>`yoi serve` started under <paramref name="umask"/> (octal, e.g. "000") through /bin/sh.</summary>
    public static Task<YoiServer> StartUnderUmaskAsync(string home, string umask, params string[] extraArgs) =>
        StartCoreAsync(home, null, umask, launcher: null, extraArgs);

    /// <summary><paramref name="launcher"/>: a command that execs the node (e.g. `ip netns exec NS`), so the process
    /// started is still the node itself (signals reach it).</summary>
    public static Task<YoiServer> StartAsync(string home, IReadOnlyDictionary<string, string>? environment, string[]? launcher,
        params string[] extraArgs) =>
        StartCoreAsync(home, environment, umask: null, launcher, extraArgs);

    private static async Task<YoiServer> StartCoreAsync(string home, IReadOnlyDictionary<string, string>? environment, string? umask,
        string[]? launcher, string[] extraArgs)
    {
        var psi = YoiExecutable.StartInfo(home);
        if (launcher is { Length: > 0 })
        {
            psi.ArgumentList.Insert(0, psi.FileName);
            for (var i = launcher.Length - 1; i >= 1; i--) psi.ArgumentList.Insert(0, launcher[i]);
            psi.FileName = launcher[0];
        }
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add("--home");
        psi.ArgumentList.Add(home);
        foreach (var a in extraArgs) psi.ArgumentList.Add(a);
        if (umask is not null)
        {
            var command = new[] { psi.FileName }.Concat(psi.ArgumentList).ToList();
            psi.FileName = "/bin/sh";
            if (!Directory.Exists(psi.WorkingDirectory)) psi.WorkingDirectory = Path.GetDirectoryName(home)!; // the node creates home
            psi.ArgumentList.Clear();
            foreach (var a in new[] { "-c", $"umask {umask} && exec \"$@\"", "sh" }.Concat(command)) psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var server = new YoiServer(process, home);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            server._output.Enqueue("out: " + e.Data);
            if (e.Data.StartsWith("yoi tcp endpoint:", StringComparison.Ordinal))
                server.TcpEndPoint = e.Data["yoi tcp endpoint:".Length..].Trim();
            if (e.Data.StartsWith("yoi node up:", StringComparison.Ordinal))
                server._up.TrySetResult(e.Data["yoi node up:".Length..].Trim());
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) server._output.Enqueue("err: " + e.Data);
        };
        process.Exited += (_, _) => server._up.TrySetException(
            new InvalidOperationException("yoi serve exited before it was up:\n" + server.Output));

        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var path = await server._up.Task.WaitAsync(StartTimeout);
            if (path != server.SocketPath)
                throw new InvalidOperationException($"node up on {path}, expected {server.SocketPath}");
            return server;
        }
        catch (Exception ex)
        {
            var output = server.Output;
            await server.DisposeAsync();
            throw new InvalidOperationException($"yoi serve did not come up: {ex.Message}\n--- output ---\n{output}", ex);
        }
    }

    /// <summary>SIGKILL the whole process tree (a crash, for restart tests) and wait for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { /* exited meanwhile */ }
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { }
    }

    /// <summary>SIGTERM (a graceful stop) and wait up to <paramref name="timeout"/> for the exit code.</summary>
    public async Task<int?> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) _ = NativeKill(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Sends a signal (SIGSTOP 19 / SIGCONT 18 freeze and thaw the node).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited) _ = NativeKill(_process.Id, signal);
    }

    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}

/// <summary>Where the built `yoi.dll` is: REPO/src/Yoi.Actors.Host/bin/CONFIG/net10.0/yoi.dll, CONFIG taken from
/// this test assembly's own output path (bin/CONFIG/TFM), falling back to the newest build.</summary>
public static class YoiExecutable
{
    public static string DotnetHost { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>`dotnet yoi.dll` in <paramref name="workingDirectory"/>, all streams redirected (UTF-8), with the
    /// caller's $YOI_HOME / $YOI_TOKEN removed so a test only sees what it passes.</summary>
    public static ProcessStartInfo StartInfo(string workingDirectory)
    {
        var psi = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(DllPath);
        psi.Environment.Remove("YOI_HOME");
        psi.Environment.Remove("YOI_TOKEN");
        return psi;
    }

    public static string DllPath { get; } = FindDll();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Yoi.Actors.sln"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find Yoi.Actors.sln above {AppContext.BaseDirectory}");
    }

    private static string FindDll()
    {
        var bin = Path.Combine(RepoRoot, "src", "Yoi.Actors.Host", "bin");
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var binIndex = Array.LastIndexOf(parts, "bin");
        if (binIndex >= 0 && binIndex + 2 < parts.Length)
        {
            var candidate = Path.Combine(bin, parts[binIndex + 1], parts[binIndex + 2], "yoi.dll");
            if (File.Exists(candidate)) return candidate;
        }
        var newest = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, "yoi.dll", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}ref{Path.DirectorySeparatorChar}"))
                .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException($"yoi.dll not built under {bin}");
    }
}
