using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Yoi.Actors.Tests.Providers;
using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>Observability through real processes: `yoi serve --http` (Kestrel on loopback), OTLP/HTTP export to a
/// loopback receiver, a Prometheus scrape, the probes and `yoi health`, the bearer token, and no secret anywhere.</summary>
public sealed class ObservabilityTests
{
    private const string KeyVariable = "YOI_OTEL_TEST_KEY";
    private const string Key = "sk-otel-test-SECRET-5d1c07";
    private const string Token = "otel-http-token-77";

    private static HttpClient Http(string? token = null)
    {
        var c = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    private static async Task<string> WaitForAsync(Func<Task<string?>> probe, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await probe() is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(200);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_run_is_exported_over_otlp_and_scraped_by_prometheus_without_the_api_key()
    {
        await using var stub = new StubLlmServer(StubResponse.FromFixture("openai-chat/tool_call.sse"), StubResponse.FromFixture("openai-chat/text.sse"));
        await using var otlp = new OtlpReceiver();
        using var dir = new TempDir("yoi-otel");
        File.WriteAllText(Path.Combine(dir.Path, "README.md"), "# readme\n");
        var port = LoopbackPort.Free();
        await using var server = await YoiServer.StartAsync(dir.Path, new Dictionary<string, string>
        {
            [KeyVariable] = Key,
            ["YOI_TOKEN"] = Token,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "yoi-otel-test",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        }, "--http", $"127.0.0.1:{port}");
        await using var client = await WireClient.ConnectAsync(server.SocketPath);
        var manifest = $"""
            [model]
            scheme = "openai_chat"
            model_id = "gpt-4o-mini"
            base_url = "{stub.BaseUrl.ToString().TrimEnd('/')}/v1"
            api_key_env = "{KeyVariable}"

            [[scope.allow]]
            target = "{dir.Path}"
            permission = "read"

            [telemetry]
            record_content = true
            """;
        await client.AttachAsync("otel-w", new CreateSpec(ManifestToml: manifest));
        await client.SendAsync(new RunMethod([new TextSegment("Read the readme")]));
        var events = await client.CollectUntilAsync(e => e is RunEndEvent or ErrorEvent, TimeSpan.FromSeconds(30));
        Assert.True(events[^1] is RunEndEvent { Result: RunResult.Finished }, WireClient.Dump(events) + "\n" + server.Output);
        Assert.All(stub.Requests, r => Assert.Equal("Bearer " + Key, r.Header("Authorization"))); // the key did go to the provider

        // OTLP/HTTP: the service name and the run's span tree arrive at the loopback receiver
        var spanNames = new List<string>();
        await WaitForAsync(() =>
        {
            spanNames = otlp.Bodies("/v1/traces").SelectMany(Otlp.Traces)
                .Where(r => r.Resource.GetValueOrDefault("service.name") == "yoi-otel-test").SelectMany(r => r.Spans).ToList();
            return Task.FromResult(spanNames.Contains("invoke_agent otel-w") ? "" : null);
        }, "no invoke_agent span exported; got " + string.Join(", ", spanNames), TimeSpan.FromSeconds(20));
        Assert.Equal(2, spanNames.Count(n => n == "chat gpt-4o-mini"));
        Assert.Contains("execute_tool Read", spanNames);
        await WaitForAsync(() => Task.FromResult(otlp.Bodies("/v1/metrics").Any() && otlp.Bodies("/v1/logs").Any() ? "" : null),
            "metrics and logs exported", TimeSpan.FromSeconds(20));

        // Prometheus over real HTTP, with the token
        using var http = Http(Token);
        var metrics = await WaitForAsync(async () =>
        {
            var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            return text.Contains("yoi_runs_total") ? text : null;
        }, "yoi_runs_total not scraped", TimeSpan.FromSeconds(10));
        Assert.Contains("gen_ai_client_token_usage_bucket{", metrics);
        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{", metrics);
        Assert.Contains("gen_ai_token_type=\"input\"", metrics);
        Assert.Contains("yoi_run_outcome=\"finished\"", metrics);
        Assert.Contains("yoi_tool_duration_seconds_bucket{", metrics);
        Assert.Contains("gen_ai_tool_name=\"Read\"", metrics);
        Assert.Contains("yoi_workers{", metrics);
        Assert.Contains("yoi_journal_write_duration_seconds_bucket{", metrics);

        // the API key is in no span, metric or log (exported or printed), though content recording is on
        await server.TerminateAsync(TimeSpan.FromSeconds(20)); // flushes the exporters
        Assert.Contains(otlp.Requests, r => Encoding.UTF8.GetString(r.Body).Contains("Read the readme")); // content did go out
        foreach (var (path, body, _) in otlp.Requests)
            Assert.False(Encoding.UTF8.GetString(body).Contains(Key, StringComparison.Ordinal), $"key found in an OTLP export to {path}");
        Assert.DoesNotContain(Key, metrics);
        Assert.DoesNotContain(Key, server.Output);
    }

    [Fact(Timeout = 120_000)]
    public async Task Readyz_is_unready_before_the_node_joins_and_ready_after_and_yoi_health_says_so()
    {
        using var homeA = new TempDir("yoi-rdyA");
        using var homeB = new TempDir("yoi-rdyB");
        int portA = LoopbackPort.Free(), httpB = LoopbackPort.Free();
        var seed = $"akka.tcp://yoi@127.0.0.1:{portA}";
        // B's only seed is A, which is not running yet: B cannot join.
        await using var b = await YoiServer.StartAsync(homeB.Path, "--seed", seed, "--http", $"127.0.0.1:{httpB}");
        using var http = Http();
        using (var unready = await http.GetAsync($"http://127.0.0.1:{httpB}/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.StatusCode);
            using var doc = JsonDocument.Parse(await unready.Content.ReadAsStringAsync());
            Assert.Equal("unready", doc.RootElement.GetProperty("status").GetString());
            Assert.Contains(doc.RootElement.GetProperty("checks").EnumerateArray(),
                c => c.GetProperty("name").GetString() == "akka.cluster.join" && c.GetProperty("status").GetString() == "unhealthy");
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{httpB}/healthz")).StatusCode); // alive all the same
        var health = await YoiCli.RunAsync(TimeSpan.FromSeconds(30), homeB.Path, "health", "--http", $"127.0.0.1:{httpB}");
        Assert.Equal(1, health.ExitCode);
        Assert.Contains("not ready: akka.cluster.join", health.Stderr);

        // A comes up (its first seed is itself: it forms the cluster) and B joins it.
        // (Each node has its own SQLite home here: this test is about membership, not a shared journal.)
        await using var a = await YoiServer.StartAsync(homeA.Path, "--port", portA.ToString(), "--seed", seed);
        await WaitForAsync(async () => (await http.GetAsync($"http://127.0.0.1:{httpB}/readyz")).StatusCode == HttpStatusCode.OK ? "" : null,
            "B did not become ready after A came up:\n" + b.Output, TimeSpan.FromSeconds(40));
        var ready = await YoiCli.RunAsync(TimeSpan.FromSeconds(30), homeB.Path, "health", "--http", $"127.0.0.1:{httpB}");
        Assert.True(ready.ExitCode == 0, ready.ToString());
        Assert.Contains("healthy   journal", ready.Stdout);
        Assert.Contains("healthy   worker-region", ready.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_a_token_every_route_but_the_probes_needs_the_bearer_header()
    {
        using var home = new TempDir("yoi-auth");
        var port = LoopbackPort.Free();
        await using var server = await YoiServer.StartAsync(home.Path, new Dictionary<string, string> { ["YOI_TOKEN"] = Token }, "--http", $"127.0.0.1:{port}");
        var url = $"http://127.0.0.1:{port}";
        using var anonymous = Http();
        using var wrong = Http("not-the-token");
        using var right = Http(Token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(url + "/metrics")).StatusCode);
        var denied = await wrong.GetAsync(url + "/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal("Bearer", denied.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(url + "/anything-else")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(url + "/healthz")).StatusCode);
        var metrics = await right.GetStringAsync(url + "/metrics");
        Assert.Contains("yoi_endpoint_rejections_total{", metrics);
        Assert.Contains("yoi_reason=\"auth\"", metrics);
        Assert.DoesNotContain(Token, metrics);
    }

    [Fact(Timeout = 60_000)]
    public async Task Https_uses_the_tls_cert_options_and_yoi_health_verifies_it()
    {
        using var home = new TempDir("yoi-tls");
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=yoi-test", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(home.Path, "node.crt");
        var keyPath = Path.Combine(home.Path, "node.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        var port = LoopbackPort.Free();
        await using var server = await YoiServer.StartAsync(home.Path, "--http", $"127.0.0.1:{port}", "--tls-cert", certPath, "--tls-key", keyPath);
        Assert.Contains($"yoi http endpoint: https://127.0.0.1:{port}", server.Output);

        using var plain = Http();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync($"https://127.0.0.1:{port}/healthz")); // untrusted certificate
        var health = await WaitForAsync(async () =>
        {
            var r = await YoiCli.RunAsync(TimeSpan.FromSeconds(30), home.Path, "health", "--http", $"127.0.0.1:{port}", "--tls-ca", certPath);
            return r.ExitCode == 0 ? r.Stdout : null;
        }, "yoi health over https did not report ready", TimeSpan.FromSeconds(30));
        Assert.Contains("ready", health);
    }
}
