using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Yoi.Actors.Host;
using Yoi.Actors.Host.Cli;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Hosting;

var homeOption = new Option<string?>("--home") { Description = "Data directory (default: $YOI_HOME, else ~/.yoi)" };

// ---- serve ----
var hostnameOption = new Option<string>("--hostname") { Description = "Remoting host name", DefaultValueFactory = _ => "127.0.0.1" };
var portOption = new Option<int>("--port") { Description = "Remoting port (0: any free port)", DefaultValueFactory = _ => 0 };
var seedOption = new Option<string[]>("--seed") { Description = "Seed node address akka.tcp://yoi@host:port (repeatable; none: join self)", AllowMultipleArgumentsPerToken = true };
var journalOption = new Option<string?>("--journal") { Description = "Journal: postgres://user:pass@host:port/db (default: SQLite at HOME/yoi.db)" };
var hoconOption = new Option<string?>("--hocon") { Description = "Extra HOCON file (e.g. hocon/single-node.hocon)" };
var listenOption = new Option<string?>("--listen") { Description = "Also listen on TCP HOST:PORT (clients send hello with $YOI_TOKEN first)" };

var serve = new Command("serve", "Run a node: cluster member, journal and client endpoint");
foreach (var o in new Option[] { homeOption, hostnameOption, portOption, seedOption, journalOption, hoconOption, listenOption }) serve.Options.Add(o);
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
        ExtraHocon = hocon,
    };
    var listen = parse.GetValue(listenOption);
    var token = Environment.GetEnvironmentVariable("YOI_TOKEN");
    if (listen is not null && string.IsNullOrEmpty(token))
    {
        Console.Error.WriteLine("yoi: --listen needs $YOI_TOKEN (the token TCP clients send in `hello`)");
        return 2;
    }
    Directory.CreateDirectory(home);
    if (ClientEndpoint.IsListening(options.SocketPath))
    {
        Console.Error.WriteLine($"yoi: another yoi node is already serving {home} ({options.SocketPath})");
        return 1;
    }
    var endpoint = new EndpointOptions
    {
        SocketPath = options.SocketPath,
        Listen = listen,
        Token = token,
        OnReady = e =>
        {
            if (e.TcpEndPoint is { } tcp) Console.Out.WriteLine($"yoi tcp endpoint: {tcp}");
            Console.Out.WriteLine($"yoi node up: {e.SocketPath}");
            Console.Out.Flush();
        },
    };
    using var host = NodeHost.Build(options, endpoint);
    try
    {
        // The host's console lifetime handles SIGTERM / Ctrl-C and stops it (CoordinatedShutdown through host stop).
        await host.RunAsync(CancellationToken.None);
        return 0;
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"yoi: {ex.Message}");
        return 1;
    }
});

// ---- run ----
var nameArgument = new Argument<string>("name") { Description = "Worker name" };
var textArgument = new Argument<string>("text") { Description = "The user input" };
var manifestOption = new Option<string?>("--manifest") { Description = "TOML manifest to create the Worker with if it does not exist" };
var run = new Command("run", "Send one run to a Worker and stream its output (starts an embedded node if none is running)");
run.Arguments.Add(nameArgument);
run.Arguments.Add(textArgument);
run.Options.Add(manifestOption);
run.Options.Add(homeOption);
run.SetAction((parse, ct) => RunCommand.ExecuteAsync(
    NodeHost.ResolveHome(parse.GetValue(homeOption)),
    parse.GetRequiredValue(nameArgument),
    parse.GetRequiredValue(textArgument),
    parse.GetValue(manifestOption),
    ct));

var root = new RootCommand("yoi — sharded, durable LLM Workers on Akka.NET");
root.Subcommands.Add(serve);
root.Subcommands.Add(run);

var parseResult = root.Parse(args);
var isServe = parseResult.CommandResult.Command == serve;
return await parseResult.InvokeAsync(new InvocationConfiguration
{
    // serve: the generic host owns SIGTERM/Ctrl-C; client commands: cancel the action's token.
    ProcessTerminationTimeout = isServe ? null : TimeSpan.FromSeconds(10),
});
