using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>Bash (reference-engine §8.3, reference-delegation §7 "later variant"): `bash -c` in the Worker's cwd with
/// stdin at null; timeout in seconds (default 120, clamped to [1, 600]); the content is the tail of stdout then
/// stderr within 12 KiB (stderr gets at most half), prefixed with the truncation header when output was dropped.
/// No path checks, only the permission policy — but refused while a child holds a write loan. Where bubblewrap is
/// available (`[tools.bash] sandbox`, <see cref="BashSandbox"/>) the shell runs inside it and sees only the Worker's
/// scope (a child's narrower scope for a child); the model's API-key variable and YOI_TOKEN are removed from its
/// environment there. The whole process tree is killed on timeout or cancellation.</summary>
public sealed class BashTool(Workspace workspace, BashSection? config = null, IReadOnlyList<string>? unsetEnv = null) : ITool
{
    private readonly Lazy<SandboxDecision> _sandbox = new(() => BashSandbox.Decide(config));

    /// <summary>Which confinement applies (decided once: bwrap is probed at first use).</summary>
    public SandboxDecision Sandbox => _sandbox.Value;

    public const int Budget = 12 * 1024;
    public const int DefaultTimeoutSeconds = 120;
    public const string TruncatedHeader = "[showing bounded WorkdirSession command output; additional output was truncated]\n";

    // The wrapper waits for background jobs, so every writer has closed when the shell exits.
    private const string Wrapper = "eval \"$1\"\n__yoi_status=$?\nwait\nexit $__yoi_status";

    public string Name => "Bash";
    public string Description => "Run a shell command with bash -c in the Worker's working directory (a new shell each call, no stdin). Output is the bounded tail of stdout and stderr. timeout is in seconds (default 120, max 600).";
    public JsonElement InputSchema { get; } = Args.Schema("""
        {"type":"object","properties":{
          "command":{"type":"string","description":"The shell command"},
          "timeout":{"type":"integer","minimum":1,"maximum":600,"description":"Timeout in seconds (default 120)"}},
         "required":["command"]}
        """);

    public static int ClampTimeout(long? seconds) => (int)Math.Clamp(seconds ?? DefaultTimeoutSeconds, 1, 600);

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var command = Args.String(input, "command");
        var timeout = ClampTimeout(Args.OptInt(input, "timeout"));
        if (workspace.Loans.AnyWriteLoan) throw ScopeErrors.WriteLoanHeld();
        var sandbox = Sandbox;
        if (sandbox.Refusal is { } refusal) throw new ToolException(ToolErrorKind.ExecutionFailed, refusal);

        var psi = new ProcessStartInfo(sandbox.Bwrap ?? "bash")
        {
            WorkingDirectory = workspace.Cwd,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (sandbox.Bwrap is not null)
        {
            var policy = workspace.Policy(); // as of now: loaned write rules are read-only inside too
            foreach (var a in BashSandbox.Arguments(policy.AllowRules, policy.DenyRules, workspace.Cwd, sandbox.Network,
                         BashSandbox.Hidden, BashSandbox.RealHost.Instance))
                psi.ArgumentList.Add(a);
            foreach (var name in unsetEnv ?? []) { psi.ArgumentList.Add("--unsetenv"); psi.ArgumentList.Add(name); }
            foreach (var a in new[] { "--setenv", "HOME", "/tmp", "--", "bash" }) psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Wrapper);
        psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add(command);

        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (Exception e) { throw new ToolException(ToolErrorKind.ExecutionFailed, "could not start bash: " + e.Message); }
        process.StandardInput.Close(); // stdin at null

        var stdout = new TailBuffer(Budget);
        var stderr = new TailBuffer(Budget);
        var pumps = Task.WhenAll(
            Pump(process.StandardOutput.BaseStream, stdout),
            Pump(process.StandardError.BaseStream, stderr));

        using var timeoutCts = new CancellationTokenSource(TimeSpan.FromSeconds(timeout));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            await pumps.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (ct.IsCancellationRequested) throw;
            timedOut = true;
            try { await pumps.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false); } catch (TimeoutException) { }
        }
        catch (TimeoutException)
        {
            // the shell exited but something still holds its output open
        }

        var summary = "$ " + (command.Length > 100 ? command[..100] + "…" : command);
        if (timedOut) summary += $" (timed out after {timeout}s)";
        else if (process.ExitCode != 0) summary += $" (exit {process.ExitCode})";
        return new ToolOutput(summary, Render(stdout, stderr));
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        try { process.WaitForExit(5000); } catch { /* best effort */ }
    }

    private static async Task Pump(Stream stream, TailBuffer into)
    {
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0) into.Append(buffer.AsSpan(0, n));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    /// <summary>stderr keeps at most half the budget; stdout takes the rest (plus what stderr leaves unused).</summary>
    internal static string? Render(TailBuffer stdout, TailBuffer stderr)
    {
        var errBytes = (int)Math.Min(stderr.Total, Budget / 2);
        var outBytes = (int)Math.Min(stdout.Total, Budget - errBytes);
        var truncated = stdout.Total > outBytes || stderr.Total > errBytes;
        var o = Tail(stdout.Bytes(), outBytes);
        var e = Tail(stderr.Bytes(), errBytes);
        if (o.Length == 0 && e.Length == 0) return null;
        var sb = new StringBuilder();
        if (truncated) sb.Append(TruncatedHeader);
        sb.Append(o);
        if (o.Length > 0 && e.Length > 0 && !o.EndsWith('\n')) sb.Append('\n');
        sb.Append(e);
        return sb.ToString();
    }

    /// <summary>The last <paramref name="n"/> bytes, moved forward to a UTF-8 boundary.</summary>
    private static string Tail(byte[] bytes, int n)
    {
        var start = bytes.Length - n;
        while (start < bytes.Length && (bytes[start] & 0xC0) == 0x80) start++;
        return Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
    }

    /// <summary>The last <c>capacity</c> bytes of a stream, and how many bytes it had in total.</summary>
    internal sealed class TailBuffer(int capacity)
    {
        private readonly byte[] _ring = new byte[capacity];
        private readonly object _gate = new();
        public long Total { get; private set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (_gate)
            {
                if (data.Length > capacity)
                {
                    Total += data.Length - capacity;
                    data = data[^capacity..];
                }
                foreach (var b in data)
                {
                    _ring[(int)(Total % capacity)] = b;
                    Total++;
                }
            }
        }

        public byte[] Bytes()
        {
            lock (_gate)
            {
                var n = (int)Math.Min(Total, capacity);
                var result = new byte[n];
                var start = Total - n;
                for (var i = 0; i < n; i++) result[i] = _ring[(int)((start + i) % capacity)];
                return result;
            }
        }
    }
}
