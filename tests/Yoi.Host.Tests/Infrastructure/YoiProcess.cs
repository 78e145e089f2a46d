using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A long-running `yoi` client command (e.g. `tail`) as a background process: its stdout and stderr are
/// collected line by line so a test can wait for a line; disposing kills it.</summary>
public sealed class YoiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private YoiProcess(Process process) => _process = process;

    public string Stdout => string.Join("\n", _stdout);
    public string Stderr => string.Join("\n", _stderr);
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public override string ToString() => $"--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    public static YoiProcess Start(string workingDirectory, params string[] args)
    {
        var psi = YoiExecutable.StartInfo(workingDirectory);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = new Process { StartInfo = psi };
        var p = new YoiProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) p._stdout.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) p._stderr.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return p;
    }

    /// <summary>Waits until stdout or stderr (as a whole) satisfies <paramref name="predicate"/>.</summary>
    public async Task WaitForAsync(Func<string, bool> predicate, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!predicate(Stdout + "\n" + Stderr))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {what} within {timeout.TotalSeconds}s\n{this}");
            if (_process.HasExited)
            {
                await Task.Delay(200); // let the last lines arrive
                if (predicate(Stdout + "\n" + Stderr)) return;
                throw new InvalidOperationException($"yoi exited ({_process.ExitCode}) before {what}\n{this}");
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
        _process.Dispose();
    }
}
