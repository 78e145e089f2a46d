using Akka.Actor;
using Yoi.Actors.Engine;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

// Messages between a running engine task and its Worker. Local only: some carry completion sources,
// so they are exempt from serialize-messages verification.
internal sealed record CommitItem(int RunId, LogEntry Entry) : INoSerializationVerificationNeeded;
internal sealed record DurabilityBarrier(int RunId, TaskCompletionSource Done) : INoSerializationVerificationNeeded;
internal sealed record FlushUnwritten(int RunId) : INoSerializationVerificationNeeded;
internal sealed record DrainPending(int RunId, TaskCompletionSource<IReadOnlyList<HistoryItem>> Done) : INoSerializationVerificationNeeded;
internal sealed record EnginePublished(int RunId, Event Event) : INoSerializationVerificationNeeded;
internal sealed record EngineWarned(int RunId, string Message) : INoSerializationVerificationNeeded;
internal sealed record EngineFinished(int RunId, EngineOutcome Outcome) : INoSerializationVerificationNeeded;

/// <summary>The engine's view of its Worker: every call becomes a message to the actor. Commits are handed over in
/// order and written in groups (<see cref="WorkerActor"/>); <see cref="DurableAsync"/> completes once the persist
/// handlers of everything handed over have run (disk before side effects).</summary>
internal sealed class WorkerTurnHost(IActorRef worker, int runId) : ITurnHost
{
    public Task CommitAsync(HistoryItem item, CancellationToken ct)
    {
        worker.Tell(new CommitItem(runId, EntryFor(item)));
        return Task.CompletedTask;
    }

    public async Task DurableAsync(CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Tell(new DurabilityBarrier(runId, done));
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

    /// <summary>The session-log entry of an engine item; anything else is refused (the run fails with HistoryAppend).</summary>
    private static LogEntry EntryFor(HistoryItem item) => item switch
    {
        ToolResultItem r => new ToolResultEntry(r),
        MessageItem { Role: Role.Assistant } or ToolCallItem or ReasoningItem => new AssistantItemEntry(item),
        _ => throw new InvalidOperationException($"cannot commit a {item.GetType().Name} from the engine"),
    };
}
