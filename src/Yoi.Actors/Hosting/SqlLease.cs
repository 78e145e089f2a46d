using System.Data.Common;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Coordination;
using Akka.Event;

namespace Yoi.Actors.Hosting;

/// <summary>An Akka.Coordination lease kept in the journal's own database (one row per lease name, an owner and an
/// expiry). The split-brain resolver's lease-majority strategy uses it: whichever side takes it stays up.
/// <list type="bullet">
/// <item>Time is the database's: acquire/renew is one compare-and-set statement, `expires_at = now() + ttl` where the
/// row is free, expired (`expires_at &lt; now()`) or already ours. No node's clock decides who holds it, so a node whose
/// clock is off by minutes can neither steal a live lease nor keep an expired one.</item>
/// <item>The holder's own belief (<see cref="CheckLease"/>) is measured on the monotonic clock from the moment the
/// statement was *sent*: the database set the expiry later than that, so the holder stops believing first.</item>
/// <item>The owner is this node's incarnation (address and uid), and the statement refuses an incarnation that the
/// cluster removed (<c>yoi_node.removed_at</c>, recorded by every member that saw it downed): a node that comes back
/// from a freeze or a partition after the others downed it cannot take the lease and down them in turn.</item>
/// <item>One renewal at a time: a single loop, each renewal awaited before the next delay.</item>
/// </list></summary>
public sealed class SqlLease : Lease
{
    private readonly ILoggingAdapter _log;
    private readonly WriterFence _db;
    private readonly ExtendedActorSystem _system;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _renewEvery;
    private readonly TimeSpan _timeout;
    private readonly object _gate = new();
    private CancellationTokenSource? _renewal;
    private long _validUntil; // Stopwatch timestamp; 0 when not held
    private Action<Exception>? _lost;

    public SqlLease(LeaseSettings settings, ExtendedActorSystem system) : base(settings)
    {
        _system = system;
        _log = Logging.GetLogger(system, typeof(SqlLease));
        var config = settings.LeaseConfig;
        var postgres = config.GetString("provider").StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase);
        _db = new WriterFence(postgres, config.GetString("connection-string"), "");
        _ttl = settings.TimeoutSettings.HeartbeatTimeout;
        _renewEvery = settings.TimeoutSettings.HeartbeatInterval;
        _timeout = settings.TimeoutSettings.OperationTimeout;
    }

    private (string Address, long Uid) Self
    {
        get
        {
            var self = Cluster.Get(_system).SelfUniqueAddress;
            return (self.Address.ToString(), self.Uid);
        }
    }

    public override Task<bool> Acquire() => Acquire(_ => { });

    public override async Task<bool> Acquire(Action<Exception> leaseLostCallback)
    {
        _lost = leaseLostCallback;
        bool acquired;
        try
        {
            // Bounded as a whole, and a failure is a definite "not acquired": the split-brain resolver must get an
            // answer to decide on. A node thawed from a freeze finds its in-flight commands' deadlines long past;
            // seen in the freeze scenarios as an acquire that never answered, leaving the node up but undecided.
            // Giving up is safe: if the statement did land, the row expires on the database clock (heartbeat-timeout)
            // and nobody else holds it meanwhile.
            acquired = await TryTakeAsync().WaitAsync(_timeout + TimeSpan.FromSeconds(1));
        }
        catch (Exception e)
        {
            Interlocked.Exchange(ref _validUntil, 0);
            _log.Warning("lease {0} not acquired by {1}: the database did not answer in time ({2})", Settings.LeaseName, Owner, e.Message);
            return false;
        }
        if (acquired)
        {
            lock (_gate)
            {
                if (_renewal is null)
                {
                    _renewal = new CancellationTokenSource();
                    _ = RenewLoopAsync(_renewal.Token);
                }
            }
            _log.Info("lease {0} acquired by {1}", Settings.LeaseName, Owner);
        }
        else _log.Info("lease {0} not acquired by {1} (held by another node, or this node was removed)", Settings.LeaseName, Owner);
        return acquired;
    }

    public override async Task<bool> Release()
    {
        StopRenewal();
        using var cts = new CancellationTokenSource(_timeout);
        await _db.EnsureTablesAsync(cts.Token);
        await using var c = await _db.OpenAsync(cts.Token);
        await WriterFence.ExecAsync(c, "DELETE FROM yoi_lease WHERE name = @name AND owner = @owner", cts.Token, null,
            ("name", Settings.LeaseName), ("owner", Owner));
        _log.Info("lease {0} released by {1}", Settings.LeaseName, Owner);
        return true;
    }

    public override bool CheckLease() => Stopwatch.GetTimestamp() < Interlocked.Read(ref _validUntil);

    private string Owner
    {
        get
        {
            var (address, uid) = Self;
            return $"{address}#{uid}";
        }
    }

    private void StopRenewal()
    {
        lock (_gate)
        {
            _renewal?.Cancel();
            _renewal = null;
        }
        Interlocked.Exchange(ref _validUntil, 0);
    }

    private async Task RenewLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_renewEvery, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Exception? failure = null;
            try
            {
                if (!await TryTakeAsync()) failure = new LeaseException($"lease {Settings.LeaseName} was taken by another owner or this node was removed");
            }
            catch (Exception e)
            {
                // The database did not answer: keep trying while our belief lasts, give up when it ends.
                if (!CheckLease()) failure = e;
                else _log.Warning("lease {0}: renewal failed, retrying: {1}", Settings.LeaseName, e.Message);
            }
            if (failure is null || ct.IsCancellationRequested) continue;
            StopRenewal();
            _log.Warning("lease {0} lost by {1}: {2}", Settings.LeaseName, Owner, failure.Message);
            _lost?.Invoke(failure);
            return;
        }
    }

    /// <summary>Takes or renews the row in one statement; true when we hold it now.</summary>
    private async Task<bool> TryTakeAsync()
    {
        using var cts = new CancellationTokenSource(_timeout);
        await _db.EnsureTablesAsync(cts.Token);
        await using var c = await _db.OpenAsync(cts.Token);
        var sent = Stopwatch.GetTimestamp();
        var ttlMs = (long)_ttl.TotalMilliseconds;
        var (address, uid) = Self;
        var sql = _db.Postgres
            ? """
              INSERT INTO yoi_lease (name, owner, expires_at)
              SELECT @name, @owner, now() + @ttl * interval '1 millisecond'
              WHERE NOT EXISTS (SELECT 1 FROM yoi_node WHERE address = @address AND uid = @uid AND removed_at IS NOT NULL)
              ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
              WHERE yoi_lease.owner = excluded.owner OR yoi_lease.expires_at < now()
              """
            : """
              INSERT INTO yoi_lease (name, owner, expires_at)
              SELECT @name, @owner, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) + @ttl
              WHERE NOT EXISTS (SELECT 1 FROM yoi_node WHERE address = @address AND uid = @uid AND removed_at IS NOT NULL)
              ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
              WHERE yoi_lease.owner = excluded.owner OR yoi_lease.expires_at < CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
              """;
        var rows = await WriterFence.ExecAsync(c, sql, cts.Token, null,
            ("name", Settings.LeaseName), ("owner", Owner), ("ttl", ttlMs), ("address", address), ("uid", uid));
        if (rows == 1) Interlocked.Exchange(ref _validUntil, sent + (long)(_ttl.TotalSeconds * Stopwatch.Frequency));
        else Interlocked.Exchange(ref _validUntil, 0);
        return rows == 1;
    }
}
