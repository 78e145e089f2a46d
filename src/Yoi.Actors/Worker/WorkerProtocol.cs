using Akka.Actor;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Everything sent to a Worker goes through the `worker` shard region in this envelope; the
/// message extractor routes by the root segment of the full name (children live with their root).</summary>
public sealed record WorkerEnvelope(string WorkerName, IYoiMessage Message) : IYoiMessage
{
    /// <summary>The top-level Worker's name: the entity id.</summary>
    public string EntityId => WorkerName.Split('/', 2)[0];
}

/// <summary>A client connection asks to attach. With <c>ManifestToml</c> the Worker is created if it does not
/// exist yet (relative scope targets resolve against <c>ManifestDir</c>). Accepted: the client receives the
/// alert replay, one <see cref="SnapshotEvent"/> and then every live <see cref="Event"/>, each as a plain
/// message whose Sender is the Worker. Refused: it receives <see cref="AttachRejected"/>.
/// With <c>Commits</c> the client also receives <see cref="JournalCommitted"/>: once right after the snapshot (the
/// sequence number the snapshot is at), then after each record, in order with the events.</summary>
public sealed record AttachClient(IActorRef Client, string? ManifestToml = null, string? ManifestDir = null, bool Commits = false) : IYoiMessage;

/// <summary>The journal holds the Worker's records up to <c>SequenceNr</c>: what came before this message in the
/// client's stream happened before that record was durable, what comes after it happened after. Lets a client that
/// reads records from the journal (the SSE stream) interleave them with live events in the Worker's order.</summary>
public sealed record JournalCommitted(long SequenceNr) : IYoiMessage;

/// <summary>The connection closed: stop sending it events.</summary>
public sealed record DetachClient(IActorRef Client) : IYoiMessage;

/// <summary>A method from a client. <c>Client</c> receives connection-scoped replies (completions).</summary>
public sealed record ClientMethod(Method Method, IActorRef? Client = null) : IYoiMessage
{
    /// <summary>W3C traceparent of the span that sent it (a delegating tool call): the run it starts is that span's child.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>Attach refused, e.g. `invalid_request` "worker `x` does not exist" or a bad manifest.</summary>
public sealed record AttachRejected(string WorkerName, ErrorEvent Error) : IYoiMessage;

/// <summary>Sent by sharding when the Worker's shard moves (rebalance, graceful leave): the Worker stops at
/// once. Committed entries are all in the journal; an unfinished run restores as interrupted on the new
/// node (and is resumed there with `[session] resume_on_recovery`).</summary>
public sealed record WorkerHandOff : IYoiMessage
{
    public static WorkerHandOff Instance { get; } = new();
}
