using Akka.Actor;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>A read-only query (the `yoi inspect` / `yoi workers` commands): the Worker answers
/// <paramref name="ReplyTo"/> with one <see cref="WorkerInspection"/>, in any state, without side effects.
/// A Worker that does not exist answers <c>Exists = false</c> and passivates.</summary>
public sealed record InspectWorker(IActorRef ReplyTo) : IYoiMessage;

/// <summary>What a Worker says about itself. <c>ManifestJson</c> is the resolved manifest journaled at creation
/// (no secrets: API keys are named by `api_key_env`, never stored). Children and loans are empty until
/// delegation exists. <c>PreviousSegments</c>: the segments left by compaction (their entries stay in the journal),
/// i.e. what each compaction summarised away.</summary>
public sealed record WorkerInspection(
    string Name,
    bool Exists,
    WorkerStatus Status,
    string Node,
    Guid SessionId,
    Guid SegmentId,
    int Entries,
    ulong TurnCount,
    int NotifyPending,
    int Clients,
    IReadOnlyList<string> Children,
    IReadOnlyList<string> Loans,
    string? ManifestJson,
    IReadOnlyList<Yoi.Actors.Compaction.PreviousSegment>? PreviousSegments = null) : IYoiMessage;
