using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Delegation;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Delegation;

[CollectionDefinition(Name)]
public sealed class DelegationNodeCollection : ICollectionFixture<DelegationNodeFixture>
{
    public const string Name = "delegation-node";
}

/// <summary>Like <see cref="WorkerNodeFixture"/> (real single-node cluster, SQLite journal, serialize-messages on), but
/// Workers get the real loan-aware builtin tools, so write loans are observable through Write/Bash.</summary>
public sealed class DelegationNodeFixture : IAsyncLifetime
{
    private IHost? _host;

    public string Home { get; } = Path.Combine(Path.GetTempPath(), "yoi-deleg-" + Guid.NewGuid().ToString("N")[..8]);
    public ConcurrentDictionary<string, IModelClient> Models { get; } = new();
    public ActorSystem System { get; private set; } = null!;
    public IActorRef Region { get; private set; } = null!;
    public IActorRef Allocation { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Home);
        var runtime = new WorkerRuntime(
            (manifest, name) => Models.TryGetValue(name, out var m) ? m : throw new InvalidOperationException($"no model registered for {name}"),
            manifest => Yoi.Actors.Tools.BuiltinTools.Create(manifest),
            SnapshotEvery: 25,
            Retry: new RetryPolicy(TimeSpan.Zero, TimeSpan.Zero, 4, TimeSpan.FromSeconds(40)),
            LoanAwareToolFactory: (manifest, loans) => Yoi.Actors.Tools.BuiltinTools.Create(manifest, loans));
        _host = new HostBuilder() // no default configuration sources: their file watchers would wake on every journal write
            .ConfigureLogging(l => { if (Environment.GetEnvironmentVariable("YOI_TEST_LOG") is not null) l.AddConsole(); })
            .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                b.AddYoiNode(new YoiNodeOptions { Home = Home, SerializeMessages = true, SnapshotEvery = 25 }, runtime)))
            .Build();
        await _host.StartAsync();
        System = _host.Services.GetRequiredService<ActorSystem>();
        var registry = _host.Services.GetRequiredService<ActorRegistry>();
        Region = await registry.GetAsync<WorkerRegion>();
        Allocation = await registry.GetAsync<AllocationRegistry>();
    }

    public async Task RestartAsync()
    {
        await _host!.StopAsync();
        _host.Dispose();
        await InitializeAsync();
    }

    public WorkerClient Client() => new(System, Region);

    /// <summary>A fresh workspace folder for one test.</summary>
    public string Workspace(string name)
    {
        var dir = Path.Combine(Home, "ws-" + name);
        Directory.CreateDirectory(dir);
        return Yoi.Actors.Scope.PathResolution.Resolve(dir)!;
    }

    /// <summary>A parent manifest: Write on the workspace, workers enabled, the given delegation grant.</summary>
    public static string ParentManifest(string ws, string delegation = "", string workers = "enabled = true") => $"""
        [model]
        scheme = "scripted"
        script = "registered-in-test.json"

        [[scope.allow]]
        target = "{ws}"
        permission = "write"

        [feature.workers]
        {workers}

        {delegation}
        """;

    public static string Grant(string target, string permission = "write", bool recursive = true, string list = "allow") => $"""
        [[delegation_scope.{list}]]
        target = "{target}"
        permission = "{permission}"
        recursive = {(recursive ? "true" : "false")}

        """;

    public async Task<WorkerClient> StartAsync(string name, IModelClient model, string manifest, string dir)
    {
        Models[name] = model;
        var client = Client();
        await client.AttachAsync(name, manifest, dir);
        return client;
    }

    /// <summary>Calls a delegation tool of a Worker directly (what its tool does), bypassing the model.</summary>
    public Task<DelegationToolReply> ToolAsync(string worker, string tool, object input)
    {
        DelegationRequest request;
        try
        {
            request = DelegationRequest.Parse(tool, global::System.Text.Json.JsonSerializer.SerializeToElement(input), new WorkerName(worker));
        }
        catch (ToolException e)
        {
            return Task.FromResult(DelegationToolReply.Fail(e.Kind, e.Message)); // the tool's own refusal, before any Ask
        }
        return Region.Ask<DelegationToolReply>(new WorkerEnvelope(worker, request), TimeSpan.FromSeconds(20));
    }

    public async Task<IReadOnlyList<AllocationEntry>> AllocationsAsync() =>
        (await Allocation.Ask<AllocationList>(ListAllocations.Instance, TimeSpan.FromSeconds(5))).Entries;

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
        try { Directory.Delete(Home, true); } catch (IOException) { }
    }
}
