using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>A failure a client command reports as `yoi: MESSAGE` with an exit code (no stack trace).</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Where a client command talks to: the Unix socket of `--home` (default), or a node's TCP endpoint
/// with `--connect HOST:PORT` and the token from `$YOI_TOKEN`.</summary>
public sealed record ClientTarget(string Home, string? Connect)
{
    /// <summary>TLS for `--connect` (`--tls`); null: plain TCP.</summary>
    public ClientTls? Tls { get; init; }

    public string SocketPath => new YoiNodeOptions { Home = Home }.SocketPath;

    public bool IsTcp => Connect is not null;

    public string Describe => Connect is { } c ? $"{(Tls is null ? "tcp" : "tls")} {c}" : SocketPath;

    /// <summary>null when nothing listens on the home's socket (never null for TCP: that throws instead).</summary>
    public async Task<LineClient?> TryConnectAsync(CancellationToken ct)
    {
        if (Connect is { } hostPort)
        {
            var token = Environment.GetEnvironmentVariable("YOI_TOKEN");
            if (string.IsNullOrEmpty(token))
                throw new CliException("--connect needs $YOI_TOKEN (the token the node was started with)", 2);
            return await LineClient.ConnectTcpAsync(hostPort, token, ct, Tls);
        }
        return await LineClient.TryConnectAsync(SocketPath, ct);
    }

    /// <summary>Connects or throws a clear error naming where no node listens.</summary>
    public async Task<LineClient> ConnectAsync(CancellationToken ct) =>
        await TryConnectAsync(ct)
        ?? throw new CliException($"no yoi node is listening on {SocketPath} (start one with `yoi serve --home {Home}`, or pass --connect HOST:PORT)");

    /// <summary>One host-level method, one reply: an `error` reply becomes a <see cref="CliException"/>.</summary>
    public async Task<T> QueryAsync<T>(Method method, CancellationToken ct) where T : Event
    {
        await using var client = await ConnectAsync(ct);
        return await QueryAsync<T>(client, method, ct);
    }

    /// <summary>The same on a connection already open.</summary>
    public static async Task<T> QueryAsync<T>(LineClient client, Method method, CancellationToken ct) where T : Event
    {
        await client.SendAsync(method, ct);
        while (true)
        {
            var evt = await client.ReadAsync(ct);
            switch (evt)
            {
                case null: throw new CliException("the node closed the connection without answering");
                case ErrorEvent e: throw new CliException($"{Output.Code(e.Code)}: {e.Message}");
                case T reply: return reply;
                default: continue; // not ours (e.g. an alert)
            }
        }
    }
}
