using System.Data.Common;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Yoi.Actors.Hosting;

/// <summary>An Akka.Coordination lease kept in the journal's own database (one row per lease name, an owner
/// and an expiry renewed while held). The split-brain resolver's lease-majority strategy uses it so that a
/// 2-node cluster survives the death of either node: whichever side can take the lease stays up.
/// Keep-majority and keep-oldest cannot do that — with two members each side is "half" and, by their rules,
/// the survivor downs itself when the lowest-address or oldest node is the one that died.</summary>
public sealed class SqlLease : Lease
{
    private readonly ILoggingAdapter _log;
    private readonly Func<DbConnection> _connect;
    private readonly bool _postgres;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _renewEvery;
    private readonly TimeSpan _timeout;
    private Timer? _renewal;
    private long _heldUntil; // unix ms; 0 when not held
    private Action<Exception>? _lost;

    public SqlLease(LeaseSettings settings, ExtendedActorSystem system) : base(settings)
    {
        _log = Logging.GetLogger(system, typeof(SqlLease));
        var config = settings.LeaseConfig;
        var connectionString = config.GetString("connection-string");
        _postgres = config.GetString("provider").StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase);
        _connect = _postgres ? () => new NpgsqlConnection(connectionString) : () => new SqliteConnection(connectionString);
        _ttl = settings.TimeoutSettings.HeartbeatTimeout;
        _renewEvery = settings.TimeoutSettings.HeartbeatInterval;
        _timeout = settings.TimeoutSettings.OperationTimeout;
    }

    public override Task<bool> Acquire() => Acquire(_ => { });

    public override async Task<bool> Acquire(Action<Exception> leaseLostCallback)
    {
        _lost = leaseLostCallback;
        var acquired = await TryTakeAsync();
        if (acquired)
        {
            _renewal ??= new Timer(_ => _ = RenewAsync(), null, _renewEvery, _renewEvery);
            _log.Info("lease {0} acquired by {1}", Settings.LeaseName, Settings.OwnerName);
        }
        return acquired;
    }

    public override async Task<bool> Release()
    {
        _renewal?.Dispose();
        _renewal = null;
        Interlocked.Exchange(ref _heldUntil, 0);
        await ExecuteAsync("DELETE FROM yoi_lease WHERE name = @name AND owner = @owner", now: 0, until: 0);
        return true;
    }

    public override bool CheckLease() => Interlocked.Read(ref _heldUntil) > Now();

    private async Task RenewAsync()
    {
        try
        {
            if (!await TryTakeAsync()) throw new LeaseException($"lease {Settings.LeaseName} was taken by another owner");
        }
        catch (Exception e)
        {
            _renewal?.Dispose();
            _renewal = null;
            Interlocked.Exchange(ref _heldUntil, 0);
            _log.Warning("lease {0} lost: {1}", Settings.LeaseName, e.Message);
            _lost?.Invoke(e);
        }
    }

    /// <summary>Takes the row if it is free, expired or already ours; true when we hold it now.</summary>
    private async Task<bool> TryTakeAsync()
    {
        var now = Now();
        var until = now + (long)_ttl.TotalMilliseconds;
        var rows = await ExecuteAsync("""
            INSERT INTO yoi_lease (name, owner, expires_at) VALUES (@name, @owner, @until)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE yoi_lease.owner = excluded.owner OR yoi_lease.expires_at < @now
            """, now, until);
        if (rows == 1) Interlocked.Exchange(ref _heldUntil, until);
        return rows == 1;
    }

    private async Task<int> ExecuteAsync(string sql, long now, long until)
    {
        using var cts = new CancellationTokenSource(_timeout);
        await using var connection = _connect();
        await connection.OpenAsync(cts.Token);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS yoi_lease (name VARCHAR(255) PRIMARY KEY, owner VARCHAR(255) NOT NULL, expires_at BIGINT NOT NULL)";
            await create.ExecuteNonQueryAsync(cts.Token);
        }
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        Add(cmd, "name", Settings.LeaseName);
        Add(cmd, "owner", Settings.OwnerName);
        Add(cmd, "now", now);
        Add(cmd, "until", until);
        return await cmd.ExecuteNonQueryAsync(cts.Token);
    }

    private static void Add(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = "@" + name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
