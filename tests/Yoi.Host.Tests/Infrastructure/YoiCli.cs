using System.Diagnostics;
using System.Text;

namespace Yoi.Host.Tests.Infrastructure;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs a `yoi` client command (`dotnet yoi.dll ARGS`) to completion, killing it after a timeout.</summary>
public static class YoiCli
{
    public static Task<CliResult> RunAsync(TimeSpan timeout, string workingDirectory, params string[] args) =>
        RunAsync(timeout, workingDirectory, null, args);

    /// <summary>Same, with extra environment variables (e.g. `YOI_TOKEN` for `--connect`).</summary>
    public static async Task<CliResult> RunAsync(TimeSpan timeout, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = YoiExecutable.StartInfo(workingDirectory);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"yoi {string.Join(' ', args)} did not exit within {timeout.TotalSeconds}s\n" +
                                       $"--- stdout ---\n{await stdout}\n--- stderr ---\n{await stderr}");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
