using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Sql.Config;
using Akka.Remote.Hosting;
using LinqToDB;
using Microsoft.Data.Sqlite;
using Npgsql;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Hosting;

/// <summary>Registry key of the `worker` shard region.</summary>
public sealed class WorkerRegion;

/// <summary>Akka.Hosting composition of a Yoi node: remoting, cluster (self-join when no seeds), the SQL
/// journal, our serializers and the `worker` shard region.</summary>
public static class YoiHosting
{
    public const string RegionName = "worker";

    /// <summary>Shards never move just to even out load: a rebalance would stop Workers mid-run. Shards move
    /// only when their node leaves or dies; new nodes take new shards.</summary>
    private const string NoRebalance = """


        akka.cluster.sharding.least-shard-allocation-strategy {
          rebalance-absolute-limit = 0
          rebalance-threshold = 1000000
        }

        """;

    /// <summary>How long a shard waits for its remember-entities store. Akka.NET 1.5 times the store's initial load with
    /// <c>updating-state-timeout</c> (default 5 s) and each remember update with <c>waiting-for-state-timeout</c>
    /// (default 2 s), the reverse of their names. 5 s timed out for 2 of 100 shards when a node restarted with 10,000
    /// remembered Workers (81 with the plugin's replay; bench scale): the stores replay while the first Workers recover,
    /// and a timeout only stops the shard and starts the load over after a backoff.</summary>
    private const string ShardStoreLoad = """

        akka.cluster.sharding {
          updating-state-timeout = 10s
          waiting-for-state-timeout = 10s
        }

        """;

    /// <summary><c>AddYoiNode(options, o => o.AddChatClient("azure", sp => …))</c>: the node with <paramref name="configure"/>
    /// applied to its options.</summary>
    public static AkkaConfigurationBuilder AddYoiNode(this AkkaConfigurationBuilder builder, YoiNodeOptions options,
        Func<YoiNodeOptions, YoiNodeOptions> configure, WorkerRuntime? runtime = null) =>
        builder.AddYoiNode(configure(options), runtime);

    public static AkkaConfigurationBuilder AddYoiNode(this AkkaConfigurationBuilder builder, YoiNodeOptions options, WorkerRuntime? runtime = null)
    {
        Directory.CreateDirectory(options.Home);
        Yoi.Actors.Tools.BashSandbox.HideFromSandboxes(options.Home); // its journal and endpoint socket stay out of every Bash sandbox
        var rt = (runtime ?? WorkerRuntime.Default) with
        {
            SnapshotEvery = options.SnapshotEvery,
            // `[model] ref` resolves against the built-in catalog with <home>/catalog.toml over it
            Catalog = runtime?.Catalog ?? Yoi.Actors.Providers.ModelCatalog.ForHome(options.Home),
        };
        var journal = JournalConfig.From(options);
        journal.Prepare();

        if (journal.DataOptionsSetup() is { } dataOptions) builder.AddSetup(dataOptions);
        builder
            .AddHocon(journal.Hocon + NoRebalance + ShardStoreLoad + journal.LeaseHocon + (options.SerializeMessages ? "\nakka.actor.serialize-messages = on\n" + LocalOnlySerializer.Hocon : ""), HoconAddMode.Prepend)
            .WithRemoting(new RemoteOptions { HostName = options.Hostname, Port = options.Port })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = options.SeedNodes.ToArray(),
            })
            .WithCustomSerializer("yoi-hyperion", [typeof(IYoiMessage)], YoiHyperion.Create)
            .WithCustomSerializer("yoi-journal", [typeof(IJournalEvent), typeof(WorkerSnapshot)], sys => new JournalJsonSerializer(sys))
            // Delegation: the node's write-allocation table (cross-tree write conflicts, reference-delegation §4.5).
            .WithActors((system, registry) =>
                registry.Register<Yoi.Actors.Delegation.AllocationRegistry>(system.ActorOf(Yoi.Actors.Delegation.AllocationActor.Props(), "yoi-allocation")))
            // Membership gate: the endpoint serves clients only while this node's membership is confirmed.
            .WithActors((system, _) => system.ActorOf(MembershipGateActor.Props(journal.Fence), MembershipGateActor.Name))
            // Journal read paths and the fence trigger made ready before a failover needs them (JournalWarmUp).
            .WithActors((system, _) =>
            {
                var self = Cluster.Get(system).SelfAddress;
                system.ActorOf(JournalWarmUp.Props($"{self.Host}:{self.Port}", journal.Fence), "yoi-journal-warm-up");
            })
            .WithShardRegion<WorkerRegion>(RegionName,
                (_, _, resolver) =>
                {
                    // scheme chat_client: IChatClients registered on the options or as keyed services of the node's container
                    var source = new Yoi.Actors.Providers.ChatClientSource(options.ChatClients, resolver.GetService<IServiceProvider>());
                    var workerRuntime = rt with { ModelFactory = source.Wrap(rt.ModelFactory) };
                    return name => WorkerActor.Props(name, workerRuntime);
                },
                new WorkerMessageExtractor(),
                new ShardOptions
                {
                    StateStoreMode = StateStoreMode.DData,
                    // A Worker that was alive when its node died is restarted on a survivor. The event-sourced
                    // store (the journal) works here; the ddata store needs LMDB, which is broken on this feed.
                    RememberEntities = true,
                    RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                    // Workers passivate themselves only when idle and unattended: never mid-run.
                    ShouldPassivateIdleEntities = false,
                    HandOffStopMessage = WorkerHandOff.Instance,
                });
        if (options.SeedNodes.Count == 0)
            builder.AddStartup((system, _) =>
            {
                var cluster = Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        // Deploy-time HOCON (`--hocon`, hocon/*.hocon) goes in front of everything above: a setting the operator
        // wrote wins over what the code composes (journal plugin, sharding, remoting, lease...).
        if (options.ExtraHocon is { } extra) builder.AddHocon(extra, HoconAddMode.Prepend);
        return builder;
    }
}

/// <summary>The journal and snapshot store HOCON for SQLite (embedded default) or PostgreSQL.</summary>
/// <remarks>Composed by hand rather than with Akka.Persistence.Sql.Hosting's typed options: the newest served version of
/// that package (1.5.70) is compiled against linq2db 5, while Akka.Persistence.Sql 1.5.73 brings linq2db 6.5.1 (its SQL
/// health checks fail with a TypeLoadException on that pairing).
/// With SQLite the snapshot store gets its own file: SQLite has one writer per file, and Microsoft.Data.Sqlite
/// answers a busy file by sleeping 150 ms before retrying, so a snapshot write sharing the journal's file stalled
/// every journal write that met it (p99 of a run: ~300 ms with one file, ~10 ms with two).</remarks>
public sealed record JournalConfig(string Provider, string BaseConnectionString, string? SqliteFile, string? SnapshotSqliteFile = null,
    SqliteSync Sync = SqliteSync.Normal)
{
    /// <summary>This node process's writer token (<see cref="WriterFence"/>): new for every node start, so a restarted
    /// node is a new writer and an old process's connections can never pass for it.</summary>
    public string Writer { get; init; } = Guid.NewGuid().ToString("N");

    public bool Postgres => Provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase);

    /// <summary>PostgreSQL: every connection carries the writer token as the session setting `yoi.writer` (a startup
    /// option: no extra round trip), which the journal trigger compares with the Worker's owner.</summary>
    public string ConnectionString => Postgres ? WithWriter(BaseConnectionString, Writer) : BaseConnectionString;

    public WriterFence Fence => new(Postgres, ConnectionString, Writer);

    private static string WithWriter(string connectionString, string writer)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        b.Options = (string.IsNullOrWhiteSpace(b.Options) ? "" : b.Options + " ") + $"-c yoi.writer={writer}";
        return b.ConnectionString;
    }

    private const string JournalPluginId = "akka.persistence.journal.sql";
    private const string QueryPluginId = "akka.persistence.query.journal.sql";
    private const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    public string SnapshotConnectionString => SnapshotSqliteFile is null ? ConnectionString : $"Data Source={SnapshotSqliteFile};Pooling=True";

    public static JournalConfig From(YoiNodeOptions o)
    {
        var j = o.Journal;
        if (string.IsNullOrWhiteSpace(j) || j == "sqlite")
            return new JournalConfig("SQLite.MS", $"Data Source={o.SqlitePath};Pooling=True", o.SqlitePath, o.SqliteSnapshotPath, o.JournalSync);
        if (j.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            var file = Path.GetFullPath(j["sqlite:".Length..]);
            var snapshots = Path.Combine(Path.GetDirectoryName(file)!, Path.GetFileNameWithoutExtension(file) + "-snapshots.db");
            return new JournalConfig("SQLite.MS", $"Data Source={file};Pooling=True", file, snapshots, o.JournalSync);
        }
        if (j.StartsWith("postgres://", StringComparison.Ordinal) || j.StartsWith("postgresql://", StringComparison.Ordinal))
            return new JournalConfig("PostgreSQL.15", PostgresUrl.ToConnectionString(j), null);
        if (j.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            return new JournalConfig("PostgreSQL.15", new NpgsqlConnectionStringBuilder(j).ConnectionString, null);
        throw new ArgumentException($"--journal must be sqlite, sqlite:PATH or postgres://user:pass@host:port/db (got \"{j}\")");
    }

    /// <summary>SQLite in WAL mode: readers (recoveries) do not block the journal writer.</summary>
    public void Prepare()
    {
        foreach (var file in new[] { SqliteFile, SnapshotSqliteFile })
        {
            if (file is null) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            using var connection = new SqliteConnection($"Data Source={file}");
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>SQLite's synchronous level and busy timeout are per connection, so every connection the SQL plugins open
    /// sets them (<see cref="SqlitePragmaInterceptor"/>, handed to the plugins through their DataOptions); null for PostgreSQL.</summary>
    public MultiDataOptionsSetup? DataOptionsSetup()
    {
        if (SqliteFile is null) return null;
        var pragma = new SqlitePragmaInterceptor(Sync, Writer);
        DataOptions For(string connectionString) => new DataOptions().UseConnectionString(Provider, connectionString).UseInterceptor(pragma);
        var setup = new MultiDataOptionsSetup();
        setup.AddDataOptions(JournalPluginId, For(ConnectionString));
        setup.AddDataOptions(QueryPluginId, For(ConnectionString));
        setup.AddDataOptions(SnapshotPluginId, For(SnapshotConnectionString));
        return setup;
    }

    /// <summary>The split-brain resolver keeps whichever side can take a lease in this database (lease-majority):
    /// a 2- and a 3-node cluster both survive the death of any one node (see <see cref="SqlLease"/>).</summary>
    public string LeaseHocon => $$"""

        akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
        akka.cluster.split-brain-resolver {
          active-strategy = lease-majority
          lease-majority {
            lease-implementation = "yoi.sbr-lease"
            lease-name = "yoi-akka-sbr"
            # The majority side takes the lease at once; the minority only after this delay, so that under load
            # (slow stable-after timers) a cut-off node does not win the race and down the majority. Seen at 2 s.
            acquire-lease-delay-for-minority = 5s
            release-after = 20s
          }
        }
        yoi.sbr-lease {
          lease-class = "{{typeof(SqlLease).AssemblyQualifiedName}}"
          heartbeat-timeout = 10s
          heartbeat-interval = 2s
          lease-operation-timeout = 5s
          provider = "{{Provider}}"
          connection-string = "{{Escape(ConnectionString)}}"
        }

        """;

    public string Hocon
    {
        get
        {
            var cs = Escape(ConnectionString);
            var snapshots = Escape(SnapshotConnectionString);
            return $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  plugin-id = "{{JournalPluginId}}"
                  class = "{{typeof(FencedSqlJournal).FullName}}, {{typeof(FencedSqlJournal).Assembly.GetName().Name}}"
                  connection-string = "{{cs}}"
                  provider-name = "{{Provider}}"
                  auto-initialize = true
                  yoi-fence {
                    provider = "{{Provider}}"
                    connection-string = "{{cs}}"
                    writer = "{{Writer}}"
                    synchronous = {{(Sync == SqliteSync.Full ? "full" : "normal")}}
                  }
                }
              }
              query.journal.sql {
                plugin-id = "{{QueryPluginId}}"
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = "{{cs}}"
                provider-name = "{{Provider}}"
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  plugin-id = "{{SnapshotPluginId}}"
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = "{{snapshots}}"
                  provider-name = "{{Provider}}"
                  auto-initialize = true
                }
              }
            }
            """;
        }
    }

    private static string Escape(string hoconString) => hoconString.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
