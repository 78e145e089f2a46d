using Microsoft.Extensions.DependencyInjection;
using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Host;
using Yoi.Actors.Host.Cli;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Host.Http;
using Yoi.Actors.Hosting;

var homeOption = new Option<string?>("--home") { Description = "Data directory (default: $YOI_HOME, else ~/.yoi)" };

// ---- serve ----
var hostnameOption = new Option<string>("--hostname") { Description = "Remoting host name", DefaultValueFactory = _ => "127.0.0.1" };
var portOption = new Option<int>("--port") { Description = "Remoting port (0: any free port)", DefaultValueFactory = _ => 0 };
var seedOption = new Option<string[]>("--seed") { Description = "Seed node address akka.tcp://yoi@host:port (repeatable; none: join self)", AllowMultipleArgumentsPerToken = true };
var journalOption = new Option<string?>("--journal") { Description = "Journal: postgres://user:pass@host:port/db (default: SQLite at HOME/yoi.db)" };
var journalSyncOption = new Option<SqliteSync>("--journal-sync")
{
    Description = "SQLite journal commits: normal (survive a process crash; the default, as the reference) or full (fsync each commit: also survive a power loss)",
    DefaultValueFactory = _ => SqliteSync.Normal,
};
var hoconOption = new Option<string?>("--hocon") { Description = "Extra HOCON file (e.g. hocon/single-node.hocon)" };
var listenOption = new Option<string?>("--listen") { Description = "Also listen on TCP HOST:PORT (clients send hello with $YOI_TOKEN first)" };
// Trust-boundary limits and TLS (EndpointLimits / TlsOptions; defaults are the spec's).
var maxLineOption = new Option<int>("--max-line-bytes") { Description = "Longest line a client may send once attached (before hello on TCP: at most 64 KiB)", DefaultValueFactory = _ => EndpointLimits.DefaultMaxLineBytes };
var helloTimeoutOption = new Option<double>("--hello-timeout") { Description = "Seconds a TCP client has to send a valid hello (TLS handshake included)", DefaultValueFactory = _ => 10 };
var maxConnectionsOption = new Option<int>("--max-connections") { Description = "Open client connections per node, over all endpoints", DefaultValueFactory = _ => 4096 };
var maxUnauthOption = new Option<int>("--max-unauthenticated-per-address") { Description = "TCP connections per remote address that have not sent a valid hello yet", DefaultValueFactory = _ => 64 };
var tlsCertOption = new Option<string?>("--tls-cert") { Description = "TLS certificate (PEM): serve: the TCP endpoint's; client commands: the client's, for mutual TLS" };
var tlsKeyOption = new Option<string?>("--tls-key") { Description = "Private key (PEM) of --tls-cert" };
var tlsClientCaOption = new Option<string?>("--tls-client-ca") { Description = "Require client certificates issued by this CA (PEM): mutual TLS" };

var logLevelOption = new Option<LogLevel>("--log-level")
{
    Description = "Least severe log level written (Trace, Debug, Information, Warning, Error; default: $YOI_LOG_LEVEL, else Information)",
    DefaultValueFactory = _ => Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("YOI_LOG_LEVEL"), true, out var l) ? l : LogLevel.Information,
};
var httpOption = new Option<string?>("--http") { Description = "Serve HTTP on HOST:PORT: /healthz, /readyz, /metrics (bearer $YOI_TOKEN on all but the probes; HTTPS with --tls-cert/--tls-key)" };

var serve = new Command("serve", "Run a node: cluster member, journal and client endpoint");
foreach (var o in new Option[] { homeOption, hostnameOption, portOption, seedOption, journalOption, journalSyncOption, hoconOption, listenOption,
             maxLineOption, helloTimeoutOption, maxConnectionsOption, maxUnauthOption, tlsCertOption, tlsKeyOption, tlsClientCaOption, httpOption, logLevelOption }) serve.Options.Add(o);
serve.SetAction(async (parse, ct) =>
{
    var home = NodeHost.ResolveHome(parse.GetValue(homeOption));
    string? hocon = null;
    if (parse.GetValue(hoconOption) is { } hoconFile)
    {
        if (!File.Exists(hoconFile))
        {
            Console.Error.WriteLine($"yoi: HOCON file not found: {hoconFile}");
            return 2;
        }
        hocon = await File.ReadAllTextAsync(hoconFile, ct);
    }
    var options = new YoiNodeOptions
    {
        Home = home,
        Hostname = parse.GetValue(hostnameOption) ?? "127.0.0.1",
        Port = parse.GetValue(portOption),
        SeedNodes = parse.GetValue(seedOption) ?? [],
        Journal = parse.GetValue(journalOption),
        JournalSync = parse.GetValue(journalSyncOption),
        ExtraHocon = hocon,
    };
    var listen = parse.GetValue(listenOption);
    var token = Environment.GetEnvironmentVariable("YOI_TOKEN");
    if (listen is not null && string.IsNullOrEmpty(token))
    {
        Console.Error.WriteLine("yoi: --listen needs $YOI_TOKEN (the token TCP clients send in `hello`)");
        return 2;
    }
    var limits = new EndpointLimits
    {
        MaxLineBytes = parse.GetValue(maxLineOption),
        HelloTimeout = TimeSpan.FromSeconds(parse.GetValue(helloTimeoutOption)),
        MaxConnections = parse.GetValue(maxConnectionsOption),
        MaxUnauthenticatedPerAddress = parse.GetValue(maxUnauthOption),
    };
    TlsOptions? tls = null;
    var (tlsCert, tlsKey, tlsClientCa) = (parse.GetValue(tlsCertOption), parse.GetValue(tlsKeyOption), parse.GetValue(tlsClientCaOption));
    var tlsUsage = limits.Validate()
        ?? (tlsCert is null != tlsKey is null ? "--tls-cert and --tls-key go together"
            : tlsClientCa is not null && tlsCert is null ? "--tls-client-ca needs --tls-cert and --tls-key"
            : tlsCert is not null && listen is null && parse.GetValue(httpOption) is null ? "--tls-cert applies to the TCP endpoint and the HTTP server: add --listen HOST:PORT or --http HOST:PORT"
            : null);
    if (tlsUsage is not null)
    {
        Console.Error.WriteLine($"yoi: {tlsUsage}");
        return 2;
    }
    if (tlsCert is not null)
    {
        tls = new TlsOptions(tlsCert, tlsKey!, tlsClientCa);
        try { tls.LoadServer(); } // fail at start, with the file named, not at the first client
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"yoi: {e.Message}");
            return 2;
        }
    }
    if (ClientEndpoint.IsListening(options.SocketPath))
    {
        Console.Error.WriteLine($"yoi: another yoi node is already serving {home} ({options.SocketPath})");
        return 1;
    }
    var http = parse.GetValue(httpOption) is { } httpListen
        ? new HttpServerOptions(httpListen, token, parse.GetValue(tlsCertOption), parse.GetValue(tlsKeyOption))
        : null;
    ClientEndpoint? ready = null;
    void PrintUp()
    {
        if (ready is null) return;
        if (ready.TcpEndPoint is { } tcp) Console.Out.WriteLine($"yoi tcp endpoint: {tcp}");
        if (http is not null) Console.Out.WriteLine($"yoi http endpoint: {(http.Tls ? "https" : "http")}://{http.Listen}");
        if (http is not null) Console.Out.WriteLine($"yoi dashboard: {(http.Tls ? "https" : "http")}://{http.Listen}/");
        Console.Out.WriteLine($"yoi node up: {ready.SocketPath}");
        Console.Out.Flush();
    }
    var endpoint = new EndpointOptions
    {
        SocketPath = options.SocketPath,
        Listen = listen,
        Token = token,
        Limits = limits,
        Tls = tls,
        OnReady = e =>
        {
            ready = e;
            if (http is null) PrintUp(); // with --http: once Kestrel listens too (ApplicationStarted, below)
        },
    };
    IHost host;
    try
    {
        host = NodeHost.Build(options, endpoint, parse.GetValue(logLevelOption), http);
    }
    catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
    {
        Console.Error.WriteLine($"yoi: {ex.Message}");
        return 2;
    }
    if (http is not null) host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(PrintUp);
    using var _ = host;
    try
    {
        // The host's console lifetime handles SIGTERM / Ctrl-C and stops it (CoordinatedShutdown through host stop).
        await host.StartAsync(CancellationToken.None);
        var shutdown = NodeExit.Watch(host);
        await host.WaitForShutdownAsync(CancellationToken.None);
        // Downed / removed / could not join: non-zero (NodeExit), so a supervisor restarts the node.
        var code = NodeExit.For(shutdown?.ShutdownReason);
        if (code != NodeExit.Graceful) Console.Error.WriteLine($"yoi: node left the cluster involuntarily; exit {code}");
        return code;
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"yoi: {ex.Message}");
        return 1;
    }
});

// ---- client commands: --home / --connect on every one, --json on the inspection commands ----
var connectOption = new Option<string?>("--connect") { Description = "Talk to a node's TCP endpoint HOST:PORT (token from $YOI_TOKEN) instead of HOME's socket" };
var jsonOption = new Option<bool>("--json") { Description = "Print the node's reply as JSON (for scripts)" };
var tlsOption = new Option<bool>("--tls") { Description = "--connect over TLS (the node's certificate is checked against --tls-ca, else the OS trust store)" };
var tlsCaOption = new Option<string?>("--tls-ca") { Description = "CA certificate (PEM) that issued the node's TLS certificate (implies --tls)" };
ClientTarget Target(ParseResult parse)
{
    var useTls = parse.GetValue(tlsOption) || parse.GetValue(tlsCaOption) is not null || parse.GetValue(tlsCertOption) is not null;
    return new(NodeHost.ResolveHome(parse.GetValue(homeOption)), parse.GetValue(connectOption))
    {
        Tls = useTls ? new ClientTls(parse.GetValue(tlsCaOption), parse.GetValue(tlsCertOption), parse.GetValue(tlsKeyOption)) : null,
    };
}
Command Client(string name, string description, params Symbol[] symbols)
{
    var command = new Command(name, description);
    foreach (var symbol in symbols)
    {
        if (symbol is Argument a) command.Arguments.Add(a);
        else if (symbol is Option o) command.Options.Add(o);
    }
    command.Options.Add(homeOption);
    command.Options.Add(connectOption);
    foreach (var o in new Option[] { tlsOption, tlsCaOption, tlsCertOption, tlsKeyOption }) command.Options.Add(o);
    return command;
}
Argument<string> NameArgument() => new("name") { Description = "Worker name" };

// ---- run ----
var nameArgument = NameArgument();
var textArgument = new Argument<string>("text") { Description = "The user input" };
var manifestOption = new Option<string?>("--manifest") { Description = "TOML manifest to create the Worker with if it does not exist" };
var run = Client("run", "Send one run to a Worker and stream its output (starts an embedded node if none is running). " +
                        "Exit: 0 finished, 1 error, 3 paused, 4 turn limit, 5 rolled back, 130 interrupted",
    nameArgument, textArgument, manifestOption);
run.SetAction((parse, ct) => RunCommand.ExecuteAsync(Target(parse), parse.GetRequiredValue(nameArgument),
    parse.GetRequiredValue(textArgument), parse.GetValue(manifestOption), ct));

// ---- attach / tail ----
var attachName = NameArgument();
var attach = Client("attach", "Interactive console on a Worker: type input; /pause /resume /cancel /notify /compact /rewind /status /quit",
    attachName, manifestOption);
attach.SetAction((parse, ct) => AttachCommand.ExecuteAsync(Target(parse), parse.GetRequiredValue(attachName), parse.GetValue(manifestOption), ct));

var tailName = NameArgument();
var linesOption = new Option<int>("--lines", "-n") { Description = "History entries to show first", DefaultValueFactory = _ => 10 };
var noFollowOption = new Option<bool>("--no-follow") { Description = "Print the recent history and exit" };
var tail = Client("tail", "Show a Worker's recent history, then follow its live stream", tailName, linesOption, noFollowOption);
tail.SetAction((parse, ct) => TailCommand.ExecuteAsync(Target(parse), parse.GetRequiredValue(tailName),
    parse.GetValue(linesOption), !parse.GetValue(noFollowOption), ct));

// ---- workers / inspect / restore / stop ----
var workers = Client("workers", "All Workers in the cluster: status, node, shard, children", jsonOption);
workers.SetAction((parse, ct) => InspectionCommands.WorkersAsync(Target(parse), parse.GetValue(jsonOption), ct));

var inspectName = NameArgument();
var inspect = Client("inspect", "A Worker's status, segment, entries, children, loans and manifest (no secrets)", inspectName, jsonOption);
inspect.SetAction((parse, ct) => InspectionCommands.InspectAsync(Target(parse), parse.GetRequiredValue(inspectName), parse.GetValue(jsonOption), ct));

var restoreName = NameArgument();
var restore = Client("restore", "Bring a passive Worker back (never creates one); reports restored or already live", restoreName, jsonOption);
restore.SetAction((parse, ct) => InspectionCommands.RestoreAsync(Target(parse), parse.GetRequiredValue(restoreName), parse.GetValue(jsonOption), ct));

var stopName = NameArgument();
var stop = Client("stop", "Shut a Worker down (a running turn is cancelled first)", stopName);
stop.SetAction((parse, ct) => InspectionCommands.StopAsync(Target(parse), parse.GetRequiredValue(stopName), ct));

// ---- cluster / shards ----
var cluster = new Command("cluster", "Cluster membership, as seen by the connected node");
var clusterShow = Client("show", "Members, roles, status, reachability and the leader", jsonOption);
clusterShow.SetAction((parse, ct) => InspectionCommands.ClusterShowAsync(Target(parse), parse.GetValue(jsonOption), ct));
var leaveAddress = new Argument<string>("address") { Description = "Member address akka.tcp://yoi@host:port" };
var clusterLeave = Client("leave", "Ask a member to leave the cluster gracefully", leaveAddress, jsonOption);
clusterLeave.SetAction((parse, ct) => InspectionCommands.ClusterCommandAsync(Target(parse), "leave", parse.GetRequiredValue(leaveAddress), parse.GetValue(jsonOption), ct));
var downAddress = new Argument<string>("address") { Description = "Member address akka.tcp://yoi@host:port" };
var clusterDown = Client("down", "Mark a member down (it is removed; its Workers restart elsewhere)", downAddress, jsonOption);
clusterDown.SetAction((parse, ct) => InspectionCommands.ClusterCommandAsync(Target(parse), "down", parse.GetRequiredValue(downAddress), parse.GetValue(jsonOption), ct));
cluster.Subcommands.Add(clusterShow);
cluster.Subcommands.Add(clusterLeave);
cluster.Subcommands.Add(clusterDown);

var shards = Client("shards", "Shard regions, shards and entity counts per node", jsonOption);
shards.SetAction((parse, ct) => InspectionCommands.ShardsAsync(Target(parse), parse.GetValue(jsonOption), ct));

// ---- health ----
// The node of --home (default) or --connect, by the `health` host method; or --http HOST:PORT's /readyz (--tls-ca: https).
var healthHttp = new Option<string?>("--http") { Description = "Ask the node's HTTP server HOST:PORT (/readyz) instead; --tls-ca FILE: over https, checked against that CA" };
var health = Client("health", "Is the node ready (member Up, worker region, journal, snapshot store)? Exit 0 ready, 1 not ready (the failing checks are named) or unreachable",
    healthHttp);
health.SetAction((parse, ct) =>
{
    if (parse.GetValue(healthHttp) is not { } http) return HealthCommand.NodeAsync(Target(parse), ct);
    if (parse.GetValue(connectOption) is not null)
    {
        Output.Error("--http and --connect are two ways to reach a node: pass one");
        return Task.FromResult(2);
    }
    return HealthCommand.HttpAsync(http, parse.GetValue(tlsCaOption), ct);
});

var root = new RootCommand("yoi — sharded, durable LLM Workers on Akka.NET");
foreach (var c in new[] { serve, run, attach, tail, workers, inspect, restore, stop, cluster, shards, health }) root.Subcommands.Add(c);

var parseResult = root.Parse(args);
var isServe = parseResult.CommandResult.Command == serve;
return await parseResult.InvokeAsync(new InvocationConfiguration
{
    // serve: the generic host owns SIGTERM/Ctrl-C; client commands: cancel the action's token.
    ProcessTerminationTimeout = isServe ? null : TimeSpan.FromSeconds(10),
});
