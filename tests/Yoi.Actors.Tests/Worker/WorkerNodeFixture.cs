using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yoi.Actors.Engine;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

/// <summary>A real single-node Yoi node (remoting, cluster self-join, SQLite journal in a temp dir, our
/// serializers, the `worker` shard region) with <c>serialize-messages = on</c>. Tests register the model
/// a Worker gets by name before creating it, and use distinct Worker names.</summary>
public sealed class WorkerNodeFixture : IAsyncLifetime
{
    private IHost? _host;

    public string Home { get; } = Path.Combine(Path.GetTempPath(), "yoi-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public ConcurrentDictionary<string, IModelClient> Models { get; } = new();
    public ConcurrentDictionary<string, IReadOnlyList<ITool>> Tools { get; } = new();
    public ActorSystem System { get; private set; } = null!;
    public IActorRef Region { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Home);
        _host = BuildHost();
        await _host.StartAsync();
        System = _host.Services.GetRequiredService<ActorSystem>();
        Region = await _host.Services.GetRequiredService<ActorRegistry>().GetAsync<WorkerRegion>();
    }

    private IHost BuildHost()
    {
        var runtime = new WorkerRuntime(
            (manifest, name) => Models.TryGetValue(name, out var m) ? m : ModelClients.Create(manifest, name),
            manifest => Tools.TryGetValue(Path.GetFileName(manifest.BaseDir), out var t) ? t : [],
            SnapshotEvery: 25,
            Retry: new RetryPolicy(TimeSpan.Zero, TimeSpan.Zero, 4, TimeSpan.FromSeconds(40)));
        return new HostBuilder() // no default configuration sources: their file watchers would wake on every journal write
            .ConfigureLogging(l => { if (Environment.GetEnvironmentVariable("YOI_TEST_LOG") is not null) l.AddConsole(); })
            .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                b.AddYoiNode(new YoiNodeOptions { Home = Home, SerializeMessages = true, SnapshotEvery = 25 }, runtime)))
            .Build();
    }

    /// <summary>Stops the node and starts a fresh one on the same journal (a process restart, minus the process).</summary>
    public async Task RestartAsync()
    {
        await _host!.StopAsync();
        _host.Dispose();
        await InitializeAsync();
    }

    public WorkerClient Client() => new(System, Region);

    /// <summary>A manifest whose scripted model is replaced by <see cref="Models"/>; the base dir names the tool set.</summary>
    public string Manifest(string extra = "") => $"""
        [model]
        scheme = "scripted"
        script = "registered-in-test.json"
        {extra}
        """;

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
