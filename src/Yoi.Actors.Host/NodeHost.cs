using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Host.Http;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Host;

/// <summary>The one composition of a node, used by `yoi serve` and by the embedded node of client commands:
/// the Akka.Hosting node (<c>AddYoiNode</c>) plus the client endpoint as a hosted service.</summary>
public static class NodeHost
{
    /// <param name="http">`--http`: the node becomes an ASP.NET Core application (Kestrel) serving <see cref="HttpServer"/>.</param>
    public static IHost Build(YoiNodeOptions options, EndpointOptions endpoint, LogLevel minLevel = LogLevel.Information, HttpServerOptions? http = null)
    {
        // Before anything opens a file in it: the data directory is private whatever the umask.
        var tightened = DataDirectory.Secure(options);
        var web = http is null ? null : WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        IHostApplicationBuilder builder = web ?? (IHostApplicationBuilder)Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // stdout belongs to the protocol-facing lines ("yoi node up", rendered output): logs go to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minLevel);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.IncludeScopes = true; // carries TraceId/SpanId when a span is ambient (ActivityTrackingOptions)
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));

        builder.Services.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
        {
            b.AddYoiNode(options);
            b.AddYoiHealthChecks();
            b.ConfigureLoggers(l =>
            {
                l.LogLevel = ToAkka(minLevel);
                l.ClearLoggers();
                l.AddLoggerFactory();
            });
        });

        builder.Services.AddSingleton(endpoint);
        builder.Services.AddSingleton<ClientEndpoint>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClientEndpoint>());
        builder.Services.AddHealthChecks();
        NodeTelemetry.Add(builder, prometheus: http is not null);

        IHost host;
        if (web is not null)
        {
            HttpServer.ConfigureServices(web, http!);
            var app = web.Build();
            HttpServer.Configure(app, http!);
            host = app;
        }
        else
            host = ((HostApplicationBuilder)builder).Build();
        Yoi.Actors.Telemetry.YoiTelemetry.LoggerFactory = host.Services.GetRequiredService<ILoggerFactory>();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DataDirectory).FullName!);
        foreach (var message in tightened) log.LogWarning("{Message}", message);
        return host;
    }

    private static Akka.Event.LogLevel ToAkka(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
        LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };

    /// <summary>`--home`, else `$YOI_HOME`, else `~/.yoi`.</summary>
    public static string ResolveHome(string? home)
    {
        if (!string.IsNullOrWhiteSpace(home)) return Path.GetFullPath(home);
        var env = Environment.GetEnvironmentVariable("YOI_HOME");
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".yoi");
    }
}
