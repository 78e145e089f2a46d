using System.Data.Common;
using Akka.Actor;
using Akka.Persistence;

namespace Yoi.Actors.Hosting;

/// <summary>The journal's replay path (issue 20), beside <see cref="JournalWriter"/> on the same table the plugin
/// writes and reads. The plugin replays through linq2db (a query built per page of rows), an Akka.Streams graph per
/// page and a <c>Try</c> per row: ≈ 15–25 µs per event, most of a Worker's recovery. Here one parameterised query
/// streams the rows through a <see cref="DbDataReader"/> and each row is deserialized and handed to the recovery
/// callback as it arrives. Same rows, same order and filter as the plugin (<c>deleted = false</c>, sequence numbers
/// in bounds, ascending, at most <c>max</c>), same <see cref="Persistent"/> built from them. Connections come from
/// the provider's pool, never the writer's connection, so a recovery does not queue behind the writes.</summary>
internal sealed class JournalReplay(WriterFence fence, Akka.Serialization.Serialization serialization)
{
    private const string Query = """
        SELECT sequence_number, message, manifest, identifier, writer_uuid, created
        FROM journal
        WHERE persistence_id = @pid AND sequence_number >= @from AND sequence_number <= @to AND deleted = @deleted
        ORDER BY sequence_number
        LIMIT @max
        """;

    public async Task ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback, CancellationToken cancellationToken)
    {
        if (max <= 0 || toSequenceNr < fromSequenceNr) return;
        await using var connection = fence.Connect();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = Query;
        Add(command, "pid", persistenceId);
        Add(command, "from", Math.Max(1, fromSequenceNr));
        Add(command, "to", toSequenceNr);
        Add(command, "deleted", false);
        Add(command, "max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var manifest = reader.IsDBNull(2) ? "" : reader.GetString(2);
            var bytes = (byte[])reader.GetValue(1);
            var payload = reader.IsDBNull(3) ? ByTypeName(bytes, manifest) : serialization.Deserialize(bytes, reader.GetInt32(3), manifest);
            recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, manifest, isDeleted: false,
                ActorRefs.NoSender, reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5)));
        }
    }

    /// <summary>The plugin's highest sequence number (its native mode: the highest row above
    /// <paramref name="fromSequenceNr"/>, deleted or not, else 0), read without a transaction: the plugin reads it in
    /// one, which Microsoft.Data.Sqlite opens as BEGIN IMMEDIATE — the file's write lock, queued behind the journal
    /// writer's transactions and SQLite's busy sleeps (≈ 180 ms per recovery while 1,000 Workers ran turns).</summary>
    public async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await using var connection = fence.Connect();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = @pid AND sequence_number > @from";
        Add(command, "pid", persistenceId);
        Add(command, "from", fromSequenceNr);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is { } max and not DBNull ? Convert.ToInt64(max) : 0;
    }

    /// <summary>A row without a serializer id (written by an old plugin version) names its type in the manifest.</summary>
    private object ByTypeName(byte[] bytes, string manifest)
    {
        var type = Type.GetType(manifest, throwOnError: true)!;
        return serialization.FindSerializerForType(type).FromBinary(bytes, type);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }
}
