using Akka.Actor;
using Akka.Persistence;
using Yoi.Actors.Hosting;

namespace Yoi.Actors.Tests.Hosting;

/// <summary>The journal's replay path (<see cref="JournalReplay"/>) against a real database: the rows the plugin's replay
/// would hand back — one Worker's, in sequence order, within the bounds, without deleted rows, at most <c>max</c> — each
/// deserialized through the row's serializer id and manifest — and the highest sequence number as the plugin reads it.</summary>
public sealed class JournalReplayTests
{
    [Fact]
    public async Task Sqlite_replay_hands_back_one_workers_live_rows_in_order_within_bounds_and_max()
    {
        await using var db = await JournalTestDatabase.SqliteAsync();
        await RunScenarioAsync(db.Fence);
    }

    [Fact]
    public async Task Postgres_replay_hands_back_one_workers_live_rows_in_order_within_bounds_and_max()
    {
        await using var db = await JournalTestDatabase.PostgresAsync();
        await RunScenarioAsync(db.Fence);
    }

    private const string Me = "worker|jr-me", Other = "worker|jr-other";

    private static async Task RunScenarioAsync(WriterFence fence)
    {
        Assert.True(await fence.ClaimAsync(Me, default));
        Assert.True(await fence.ClaimAsync(Other, default));
        using (var writer = new JournalWriter(fence, SqliteSync.Normal))
        {
            // Interleaved with another Worker's rows, so ordering by insertion alone would not do.
            for (var seq = 1; seq <= 12; seq++)
                await Task.WhenAll(writer.WriteAsync([Row(Me, seq)]), writer.WriteAsync([Row(Other, seq)]));
        }
        // Akka.Persistence's DeleteMessages marks rows deleted (the plugin keeps the highest one as a marker).
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, "UPDATE journal SET deleted = @d WHERE persistence_id = @p AND sequence_number IN (5, 8)", default, null,
                ("d", true), ("p", Me));

        using var system = ActorSystem.Create("jr");
        var reader = new JournalReplay(fence, system.Serialization);

        Assert.Equal(new long[] { 3, 4, 6, 7, 9, 10 }, await ReplayAsync(reader, from: 3, to: 10, max: 100));
        Assert.Equal(new long[] { 3, 4, 6, 7 }, await ReplayAsync(reader, from: 3, to: 10, max: 4));
        Assert.Equal(new long[] { 1, 2, 3, 4, 6, 7, 9, 10, 11, 12 }, await ReplayAsync(reader, from: 0, to: long.MaxValue, max: long.MaxValue));
        Assert.Equal(new long[] { 11, 12 }, await ReplayAsync(reader, from: 11, to: long.MaxValue, max: long.MaxValue));
        Assert.Empty(await ReplayAsync(reader, from: 13, to: 20, max: 100));
        Assert.Empty(await ReplayAsync(reader, from: 3, to: 10, max: 0));

        // The highest sequence number counts deleted rows (the plugin keeps the highest one for that) and only rows above `from`.
        await using (var c = await fence.OpenAsync(default))
            await WriterFence.ExecAsync(c, "UPDATE journal SET deleted = @d WHERE persistence_id = @p AND sequence_number = 12", default, null,
                ("d", true), ("p", Me));
        Assert.Equal(12, await reader.ReadHighestSequenceNrAsync(Me, 0, default));
        Assert.Equal(12, await reader.ReadHighestSequenceNrAsync(Me, 11, default));
        Assert.Equal(0, await reader.ReadHighestSequenceNrAsync(Me, 12, default));
        Assert.Equal(0, await reader.ReadHighestSequenceNrAsync("worker|jr-nobody", 0, default));

        var replayed = new List<IPersistentRepresentation>();
        await reader.ReplayAsync(Me, 11, 11, 1, replayed.Add, default);
        var one = Assert.Single(replayed);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes($"{Me}:11"), (byte[])one.Payload);
        Assert.Equal(Me, one.PersistenceId);
        Assert.Equal("me", one.WriterGuid);
        Assert.Equal(1234L + 11, one.Timestamp);
        Assert.False(one.IsDeleted);
    }

    private static async Task<long[]> ReplayAsync(JournalReplay reader, long from, long to, long max)
    {
        var seqs = new List<long>();
        await reader.ReplayAsync(Me, from, to, max, r =>
        {
            Assert.Equal(Me, r.PersistenceId);
            seqs.Add(r.SequenceNr);
        }, default);
        return seqs.ToArray();
    }

    /// <summary>A byte-array payload (Akka's ByteArraySerializer, id 4, no manifest).</summary>
    private static JournalRowData Row(string pid, long seq) =>
        new(pid, seq, 1234 + seq, System.Text.Encoding.UTF8.GetBytes($"{pid}:{seq}"), "", 4);
}
