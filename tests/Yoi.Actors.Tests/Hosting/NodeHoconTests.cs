using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>Deploy-time HOCON (`yoi serve --hocon FILE`) wins over what <c>AddYoiNode</c> composes.</summary>
public sealed class NodeHoconTests
{
    [Fact]
    public async Task Deploy_time_HOCON_overrides_the_composed_journal_and_sharding_settings()
    {
        var home = Path.Combine(Path.GetTempPath(), "yoi-hocon-" + Guid.NewGuid().ToString("N")[..8]);
        var extra = """
            akka.persistence.journal.sql.parallelism = 1
            akka.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit = 7
            """;
        using var host = new HostBuilder()
            .ConfigureServices(s => s.AddAkka(YoiNodeOptions.ActorSystemName, (b, _) =>
                b.AddYoiNode(new YoiNodeOptions { Home = home, ExtraHocon = extra })))
            .Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var config = host.Services.GetRequiredService<ActorSystem>().Settings.Config;
            Assert.Equal(1, config.GetInt("akka.persistence.journal.sql.parallelism"));
            // NoRebalance sets 0 here; the operator's file says otherwise and wins.
            Assert.Equal(7, config.GetInt("akka.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit"));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(home, true);
        }
    }
}
