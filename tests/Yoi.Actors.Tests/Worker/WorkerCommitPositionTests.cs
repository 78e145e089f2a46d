using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Worker;

/// <summary>`AttachClient(Commits: true)` (the SSE stream's attachment): the Worker names the journal sequence number
/// its snapshot is at, then sends each record's position in order with its events, so a client reading records from
/// the journal can put each one exactly where it was committed.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class WorkerCommitPositionTests(WorkerNodeFixture node)
{
    [Fact]
    public async Task A_client_attached_with_commits_gets_the_snapshots_sequence_number_then_every_records_position_in_order()
    {
        node.Models["commits-1"] = new ScriptedModelClient([new ScriptedResponse(new ScriptText("Hel", "lo"))]);
        await using var client = node.Client();
        await client.AttachAsync("commits-1", node.Manifest(), node.Home, commits: true);
        Assert.Equal(new JournalCommitted(1), await client.NextAsync<JournalCommitted>()); // the creation record
        await using var plain = node.Client();
        await plain.AttachAsync("commits-1");

        client.Run("Hi");
        var seen = await client.UntilStatusAsync(WorkerStatus.Idle);
        await plain.UntilStatusAsync(WorkerStatus.Idle);

        // Every record committed during the run, once, in order; the log-lane event of a record comes right before
        // its position, and run_end after the run's last record.
        var positions = seen.OfType<JournalCommitted>().Select(c => c.SequenceNr).ToList();
        Assert.True(positions.Count >= 4, string.Join(", ", positions)); // segment_start, invoke, user_input, assistant_item…
        Assert.Equal(Enumerable.Range(2, positions.Count).Select(i => (long)i), positions);
        var userMessage = seen.FindIndex(m => m is UserMessageEvent);
        Assert.IsType<JournalCommitted>(seen[userMessage + 1]);
        Assert.True(seen.FindLastIndex(m => m is JournalCommitted) < seen.FindIndex(m => m is RunEndEvent));
        Assert.DoesNotContain(plain.Seen, m => m is JournalCommitted);

        // A later attachment: its snapshot is at the journal's head (the run's last record, or one committed since).
        await using var late = node.Client();
        await late.AttachAsync("commits-1", commits: true);
        Assert.True((await late.NextAsync<JournalCommitted>()).SequenceNr >= positions[^1]);
    }
}
