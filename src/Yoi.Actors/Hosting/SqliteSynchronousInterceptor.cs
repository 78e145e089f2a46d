using System.Data.Common;
using System.Runtime.CompilerServices;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace Yoi.Actors.Hosting;

/// <summary>Sets `PRAGMA synchronous` on the connections the SQL persistence plugins open: the setting is per
/// connection and Microsoft.Data.Sqlite has no connection-string keyword for it. A pooled native connection
/// keeps the setting, so it is issued once per native handle.</summary>
public sealed class SqliteSynchronousInterceptor(SqliteSync sync) : ConnectionInterceptor
{
    private readonly string _pragma = "PRAGMA synchronous=" + (sync == SqliteSync.Full ? "FULL" : "NORMAL") + ";";
    private readonly ConditionalWeakTable<object, object> _configured = new();
    private int _applied;

    public SqliteSync Sync { get; } = sync;

    /// <summary>How many native connections got the pragma (observability and tests).</summary>
    public int Applied => Volatile.Read(ref _applied);

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
    {
        if (!Claim(connection)) return;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragma;
        cmd.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        if (!Claim(connection)) return;
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragma;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>True when this connection still needs the pragma (first sight of its native handle).</summary>
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
