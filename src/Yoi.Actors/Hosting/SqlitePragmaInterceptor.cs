using System.Data.Common;
using System.Runtime.CompilerServices;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace Yoi.Actors.Hosting;

/// <summary>Sets the per-connection pragmas on every native connection the SQL persistence plugins open (Microsoft.Data.Sqlite
/// has no connection-string keyword for them); a pooled native connection keeps them, so they are issued once per handle.
/// <list type="bullet">
/// <item>`synchronous`: see <see cref="SqliteSync"/>.</item>
/// <item>`busy_timeout`: SQLite's own busy handler (waits of 1–100 ms) instead of Microsoft.Data.Sqlite's retry loop,
/// which sleeps 150 ms whenever two writers meet (the journal writes with up to three connections; sharding's
/// remember-entities and the Workers write at once when a node starts). Those sleeps were the 200–500 ms tail of
/// a Worker's recovery.</item>
/// <item>`yoi_writer()`: this node's writer token, read by the journal's fencing trigger (<see cref="WriterFence"/>);
/// registered on every open (a native call, no round trip).</item>
/// </list></summary>
public sealed class SqlitePragmaInterceptor(SqliteSync sync, string? writer = null) : ConnectionInterceptor
{
    public const int BusyTimeoutMs = 30_000;

    private readonly string _pragmas =
        $"PRAGMA synchronous={(sync == SqliteSync.Full ? "FULL" : "NORMAL")}; PRAGMA busy_timeout={BusyTimeoutMs};";
    private readonly ConditionalWeakTable<object, object> _configured = new();
    private int _applied;

    public SqliteSync Sync { get; } = sync;

    /// <summary>How many native connections got the pragmas (observability and tests).</summary>
    public int Applied => Volatile.Read(ref _applied);

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
    {
        RegisterWriter(connection);
        if (!Claim(connection)) return;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragmas;
        cmd.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        RegisterWriter(connection);
        if (!Claim(connection)) return;
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragmas;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private void RegisterWriter(DbConnection connection)
    {
        if (writer is not null && connection is SqliteConnection sqlite) sqlite.CreateFunction("yoi_writer", () => writer, isDeterministic: true);
    }

    /// <summary>True when this connection still needs the pragmas (first sight of its native handle).</summary>
    private bool Claim(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } handle })
        {
            if (_configured.TryGetValue(handle, out _)) return false;
            _configured.AddOrUpdate(handle, this);
        }
        Interlocked.Increment(ref _applied);
        return true;
    }
}
