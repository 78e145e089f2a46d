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

    /// <summary>Take snapshots every N journal events (bounds recovery time).</summary>
    public int SnapshotEvery { get; init; } = 500;

    /// <summary>Extra HOCON (deploy-time files from `hocon/`), prepended so it wins over defaults.</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Tests turn this on: every message is serialized as if it crossed the network.</summary>
    public bool SerializeMessages { get; init; }

    public string SqlitePath => Path.Combine(Home, "yoi.db");

    /// <summary>Snapshots live in their own SQLite file: a snapshot write never holds the journal's write lock.</summary>
    public string SqliteSnapshotPath => Path.Combine(Home, "yoi-snapshots.db");
    public string SocketPath => Path.Combine(Home, "run", "yoi.sock");
}
