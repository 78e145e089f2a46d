using Akka.Actor;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

// Messages between a running engine task and its Worker. Local only: they carry completion sources,
// so they are exempt from serialize-messages verification.
internal sealed record CommitItem(int RunId, HistoryItem Item, TaskCompletionSource Done) : INoSerializationVerificationNeeded;
internal sealed record DrainPending(int RunId, TaskCompletionSource<IReadOnlyList<HistoryItem>> Done) : INoSerializationVerificationNeeded;
internal sealed record EnginePublished(int RunId, Event Event) : INoSerializationVerificationNeeded;
internal sealed record EngineWarned(int RunId, string Message) : INoSerializationVerificationNeeded;
internal sealed record EngineFinished(int RunId, EngineOutcome Outcome) : INoSerializationVerificationNeeded;

/// <summary>The engine's view of its Worker: every call becomes a message to the actor, and commits complete
/// only after the persist handler ran (disk before memory).</summary>
internal sealed class WorkerTurnHost(IActorRef worker, int runId) : ITurnHost
{
    public async Task CommitAsync(HistoryItem item, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Tell(new CommitItem(runId, item, done));
        await done.Task.WaitAsync(ct);
    }

    public async Task<IReadOnlyList<HistoryItem>> DrainPendingAsync(CancellationToken ct)
    {
        var done = new TaskCompletionSource<IReadOnlyList<HistoryItem>>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Tell(new DrainPending(runId, done));
        return await done.Task.WaitAsync(ct);
    }

    public void Publish(Event e) => worker.Tell(new EnginePublished(runId, e));

    public void Warn(string message) => worker.Tell(new EngineWarned(runId, message));
}
