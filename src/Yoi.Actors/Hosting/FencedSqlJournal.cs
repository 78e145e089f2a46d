using Akka.Event;
using Akka.Persistence.Sql.Journal;

namespace Yoi.Actors.Hosting;

/// <summary>The SQL journal with the writer fence (<see cref="WriterFence"/>): the recovery of a Worker claims its
/// journal for this node before anything is read. Akka.Persistence's <c>AsyncWriteJournal</c> answers a replay
/// request by reading the highest sequence number first, then replaying, so the claim sits in
/// <see cref="ReadHighestSequenceNrAsync"/>: the highest number and the replay both see every append of the
/// previous owner that the database accepted, and the previous owner's later appends are refused by the trigger.</summary>
public sealed class FencedSqlJournal : SqlWriteJournal
{
    private readonly WriterFence _fence;
    private readonly ILoggingAdapter _log;

    public FencedSqlJournal(Akka.Configuration.Config config) : base(config)
    {
        _log = Context.GetLogger();
        _fence = new WriterFence(
            config.GetString("yoi-fence.provider").StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase),
            config.GetString("yoi-fence.connection-string"),
            config.GetString("yoi-fence.writer"));
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (WriterFence.IsWorker(persistenceId))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(15));
            bool claimed;
            try
            {
                claimed = await _fence.ClaimAsync(persistenceId, cts.Token);
            }
            catch
            {
                _fence.ResetSchemaCache();
                throw;
            }
            if (!claimed)
            {
                _log.Warning("{0}: not recovered here: the cluster removed this node (writer {1})", persistenceId, _fence.Writer);
                throw new InvalidOperationException($"{persistenceId}: this node was removed from the cluster; it may not take the Worker");
            }
        }
        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }
}
