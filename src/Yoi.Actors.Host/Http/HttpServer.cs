using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Telemetry;

namespace Yoi.Actors.Host.Http;

/// <summary>The node's HTTP server (ASP.NET Core on Kestrel), composed into the node's host by <see cref="NodeHost"/>.
/// Every route is registered in <see cref="MapRoutes"/>; the bearer check in <see cref="RequireToken"/> covers them all
/// except <see cref="Unauthenticated"/> (the probes an orchestrator calls without credentials).</summary>
public static class HttpServer
{
    public const string MetricsPath = "/metrics";

    /// <summary>Paths served without a token (liveness and readiness probes).</summary>
    public static readonly IReadOnlySet<string> Unauthenticated = new HashSet<string>(StringComparer.Ordinal) { "/healthz", "/readyz" };

    public static void ConfigureServices(WebApplicationBuilder builder, HttpServerOptions options)
    {
        var endpoint = ClientEndpoint.ParseHostPort(options.Listen);
        X509Certificate2? certificate = null;
        if (options.TlsCertPath is { } cert)
        {
            var key = options.TlsKeyPath ?? throw new InvalidOperationException("--tls-cert needs --tls-key");
            try { certificate = X509Certificate2.CreateFromPemFile(cert, key); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new InvalidOperationException($"--tls-cert/--tls-key: cannot load {cert} / {key}: {e.Message}", e);
            }
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 1024 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Listen(endpoint, listen =>
            {
                if (certificate is not null) listen.UseHttps(certificate);
            });
        });
        builder.Services.AddRouting();
        Api.HttpApi.AddServices(builder);
    }

    public static void Configure(WebApplication app, HttpServerOptions options)
    {
        app.UseWebSockets();
        app.Use(RequireToken(options.Token));
        MapRoutes(app);
    }

    /// <summary>The one place routes are registered (the HTTP API adds its groups here).</summary>
    public static void MapRoutes(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", (HttpContext c, HealthCheckService health) => Probe(c, health, YoiHealthChecks.Live));
        routes.MapGet("/readyz", (HttpContext c, HealthCheckService health) => Probe(c, health, YoiHealthChecks.Ready));
        routes.MapPrometheusScrapingEndpoint(MetricsPath);
        Api.HttpApi.Map(routes);
    }

    /// <summary>With a token configured, every request but the probes needs <c>Authorization: Bearer &lt;token&gt;</c>
    /// (compared in constant time); otherwise 401 with <c>WWW-Authenticate: Bearer</c>.</summary>
    public static Func<HttpContext, RequestDelegate, Task> RequireToken(string? token)
    {
        var expected = string.IsNullOrEmpty(token) ? null : Encoding.UTF8.GetBytes(token);
        return (context, next) =>
        {
            // `/api/ws` authenticates itself: by this same header, or by a first `hello` (browsers cannot set headers there).
            if (expected is null || Unauthenticated.Contains(context.Request.Path.Value ?? "") || Dashboard.DashboardFiles.IsPublic(context.Request.Path.Value ?? "")
                || context.Request.Path.Value == Api.WebSocketEndpoint.Path)
                return next(context);
            var header = context.Request.Headers.Authorization.ToString();
            const string scheme = "Bearer ";
            if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), expected))
                return next(context);
            YoiTelemetry.Rejected("http", "auth");
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = Api.Problems.ContentType;
            return context.Response.WriteAsync(Api.Problems.Body(401, "unauthorized", "missing or invalid bearer token").ToJsonString());
        };
    }

    /// <summary>200 when every check with <paramref name="tag"/> is healthy, else 503; the body names each check.</summary>
    private static async Task Probe(HttpContext context, HealthCheckService health, string tag)
    {
        var report = await YoiHealthChecks.RunAsync(health, tag, context.RequestAborted);
        context.Response.StatusCode = report.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new HealthReply(
            report.Ready ? "ready" : "unready",
            report.Checks.Select(c => new HealthCheckReply(c.Name, c.Status, c.Description)).ToList()), Json);
    }

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

public sealed record HealthReply(string Status, IReadOnlyList<HealthCheckReply> Checks);

public sealed record HealthCheckReply(string Name, string Status, string? Description);
