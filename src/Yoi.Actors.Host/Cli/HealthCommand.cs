using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Yoi.Actors.Host.Http;

namespace Yoi.Actors.Host.Cli;

/// <summary>`yoi health --http HOST:PORT`: asks the node's <c>/readyz</c>. Exit 0 when ready; 1 otherwise, naming each
/// failing check (or why the node could not be asked).</summary>
public static class HealthCommand
{
    public static async Task<int> ExecuteAsync(string target, string? tlsCa, CancellationToken ct)
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
            foreach (var check in reply.Checks)
                Console.Out.WriteLine($"{check.Status,-9} {check.Name}{(check.Description is { } d ? ": " + d : "")}");
            if (response.IsSuccessStatusCode)
            {
                Console.Out.WriteLine("ready");
                return 0;
            }
            var failing = reply.Checks.Where(c => c.Status != "healthy").Select(c => c.Name).ToList();
            Console.Error.WriteLine($"yoi: not ready: {string.Join(", ", failing.Count > 0 ? failing : ["HTTP " + (int)response.StatusCode])}");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or InvalidOperationException)
        {
            Console.Error.WriteLine($"yoi: not ready: cannot reach {url}: {e.Message}");
            return 1;
        }
    }
}
