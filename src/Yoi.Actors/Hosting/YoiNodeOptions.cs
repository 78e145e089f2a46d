namespace Yoi.Actors.Hosting;

/// <summary>How a node is composed: where it keeps data, how it joins the cluster, which journal it uses.</summary>
public sealed record YoiNodeOptions
{
    public const string ActorSystemName = "yoi";

    /// <summary>The data directory (`--home`, `$YOI_HOME`, `~/.yoi`): SQLite journal at `Home/yoi.db` (snapshots in
    /// `Home/yoi-snapshots.db`), socket at `Home/run/yoi.sock`.</summary>
    public required string Home { get; init; }

    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Remoting port; 0 picks a free one (single node).</summary>
    public int Port { get; init; }

    /// <summary>Seed nodes (`akka.tcp://yoi@host:port`). Empty: the node joins itself (single-node cluster).</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>null: embedded SQLite at `Home/yoi.db`; `postgres://user:pass@host:port/db` or an Npgsql connection string: PostgreSQL.</summary>
    public string? Journal { get; init; }

    /// <summary>How hard an SQLite journal commit waits for the disk (`--journal-sync`). See <see cref="SqliteSync"/>.</summary>
    public SqliteSync JournalSync { get; init; } = SqliteSync.Normal;

    /// <summary>Take snapshots every N journal events (bounds recovery time).</summary>
    public int SnapshotEvery { get; init; } = 500;

    /// <summary>Extra HOCON (deploy-time files from `hocon/`), prepended last so it wins over defaults and over
    /// everything <c>AddYoiNode</c> composes.</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Tests turn this on: every message is serialized as if it crossed the network.</summary>
    public bool SerializeMessages { get; init; }

    /// <summary>Chat clients a manifest can select with <c>[model] scheme = "chat_client"</c>, <c>client = "NAME"</c>; each
    /// factory runs once, with the node's service provider, when a Worker first needs that client.</summary>
    public IReadOnlyDictionary<string, Func<IServiceProvider, Microsoft.Extensions.AI.IChatClient>> ChatClients { get; init; } =
        new Dictionary<string, Func<IServiceProvider, Microsoft.Extensions.AI.IChatClient>>();

    /// <summary>Registers an <see cref="Microsoft.Extensions.AI.IChatClient"/> under <paramref name="name"/> (a copy of these
    /// options with it added). Build it without function invocation: the Worker's engine executes tools.</summary>
    public YoiNodeOptions AddChatClient(string name, Func<IServiceProvider, Microsoft.Extensions.AI.IChatClient> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        return this with
        {
            ChatClients = new Dictionary<string, Func<IServiceProvider, Microsoft.Extensions.AI.IChatClient>>(ChatClients) { [name] = factory },
        };
    }

    public string SqlitePath => Path.Combine(Home, "yoi.db");

    /// <summary>Snapshots live in their own SQLite file: a snapshot write never holds the journal's write lock.</summary>
    public string SqliteSnapshotPath => Path.Combine(Home, "yoi-snapshots.db");
    public string SocketPath => Path.Combine(Home, "run", "yoi.sock");
}

/// <summary>SQLite's `PRAGMA synchronous` for the journal and snapshot files (both in WAL mode).</summary>
/// <remarks><see cref="Normal"/> (the default) writes every commit to the WAL without an fsync: a committed entry
/// survives a crash or SIGKILL of the process, and the database is never corrupted, but a power loss or kernel
/// crash can lose the last commits before the next checkpoint. That is the reference runtime's guarantee (one
/// `write` per session-log line, no fsync). <see cref="Full"/> fsyncs the WAL on every commit (≈ 0.25 ms each on
/// the bench machine): committed entries also survive a power loss.</remarks>
public enum SqliteSync { Normal, Full }
