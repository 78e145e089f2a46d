using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Yoi.Actors.Host.Http;
using Yoi.Messages;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi health`: is the node ready? Asks the node of `--home` (its socket, the default) or `--connect HOST:PORT`
/// with the `health` host method, or with `--http HOST:PORT` its <c>/readyz</c>: the same checks either way. Exit 0
/// when ready; 1 otherwise, naming each failing check or why the node could not be asked (a probe has two answers).</summary>
public static class HealthCommand
{
    public static async Task<int> NodeAsync(ClientTarget target, CancellationToken ct)
    {
        HealthEvent reply;
        try
        {
            await using var client = await target.TryConnectAsync(ct)
                ?? throw new CliException($"no yoi node is listening there (start one with `yoi serve --home {target.Home}`)");
            reply = await ClientTarget.QueryAsync<HealthEvent>(client, new HealthMethod(), ct);
        }
        catch (Exception e) when (e is CliException or IOException or System.Net.Sockets.SocketException or System.Text.Json.JsonException
                                      or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return CannotReach(target.Describe, e.Message);
        }
        return Report(reply.Ready, reply.Checks.Select(c => (c.Name, c.Status, c.Description)).ToList(), null);
    }

    public static async Task<int> HttpAsync(string target, string? tlsCa, CancellationToken ct)
    {
        var https = tlsCa is not null;
        using var handler = new HttpClientHandler();
        if (tlsCa is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tlsCa);
            // The node's certificate is checked against exactly this CA (no system store).
            handler.ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                if (cert is null) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                return chain.Build(cert);
            };
        }
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var url = $"{(https ? "https" : "http")}://{target}/readyz";
        try
        {
            using var response = await http.GetAsync(url, ct);
            var reply = await response.Content.ReadFromJsonAsync<HealthReply>(HttpServer.Json, ct);
            if (reply is null) throw new InvalidOperationException("empty reply");
            return Report(response.IsSuccessStatusCode, reply.Checks.Select(c => (c.Name, c.Status, c.Description)).ToList(),
                "HTTP " + (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return CannotReach(url, e.Message);
        }
    }

    /// <summary>One line per check on stdout, then `ready` (0) or `yoi: not ready: FAILING…` on stderr (1).</summary>
    private static int Report(bool ready, IReadOnlyList<(string Name, string Status, string? Description)> checks, string? otherwise)
    {
        foreach (var check in checks)
            Console.Out.WriteLine($"{check.Status,-9} {check.Name}{(check.Description is { } d ? ": " + d : "")}");
        if (ready)
        {
            Console.Out.WriteLine("ready");
            return 0;
        }
        var failing = checks.Where(c => c.Status != "healthy").Select(c => c.Name).ToList();
        Console.Error.WriteLine($"yoi: not ready: {string.Join(", ", failing.Count > 0 ? failing : [otherwise ?? "no check reported"])}");
        return 1;
    }

    private static int CannotReach(string target, string why)
    {
        Console.Error.WriteLine($"yoi: not ready: cannot reach {target}: {why}");
        return 1;
    }
}
