using System.Text.Json;
using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Serializable image of <see cref="WorkerState"/> for Akka snapshots (bounds recovery time).</summary>
public sealed record WorkerSnapshot(
    string WorkerName,
    Guid SessionId,
    Guid SegmentId,
    JsonElement Manifest,
    IReadOnlyList<LogEntry> Entries,
    IReadOnlyList<PendingNotification> NotifyBuffer,
    bool Paused,
    bool RunInFlight = false,
    Yoi.Actors.Delegation.DelegationSnapshot? Delegation = null,
    IReadOnlyList<Yoi.Actors.Compaction.PreviousSegment>? PreviousSegments = null);

/// <summary>The pure projection of a Worker's journal: the visible entries of the current segment and
/// everything replay derives from them (reference-engine §4.5), the notify buffer and durable Paused.
/// Used by recovery and by every persist handler, so memory never runs ahead of the journal.</summary>
public sealed class WorkerState
{
    public const int NotifyCapacity = 128;

    public bool Created { get; private set; }
    public string WorkerName { get; private set; } = "";
    public Guid SessionId { get; private set; }
    public Guid SegmentId { get; private set; }
    public JsonElement Manifest { get; private set; }

    /// <summary>Visible entries of the current segment, in commit order (what a snapshot event shows).</summary>
    public List<LogEntry> Entries { get; } = [];

    public List<HistoryItem> History { get; } = [];
    public string? SystemPrompt { get; private set; }
    public RequestConfig Config { get; private set; } = RequestConfig.Default;
    public ulong TurnCount { get; private set; }
    public bool LastRunInterrupted { get; private set; }
    public List<LlmUsageEntry> Usage { get; } = [];
    public List<PendingNotification> NotifyBuffer { get; } = [];

    /// <summary>Segments left by compaction, oldest first (their entries stay in the journal).</summary>
    public List<Yoi.Actors.Compaction.PreviousSegment> PreviousSegments { get; } = [];

    /// <summary>Child registry, loans, report outbox/dedup and peers (WorkerActor.Delegation).</summary>
    public Yoi.Actors.Delegation.DelegationState Delegation { get; private set; } = new();

    /// <summary>A run started (invoke or resume) and has no terminal entry yet: after a crash or a node loss
    /// this is the run that was in flight.</summary>
    public bool RunInFlight { get; private set; }

    /// <summary>Durable Paused (our deviation): the last run ended paused and nothing has moved on since.</summary>
    public bool Paused { get; private set; }

    public bool SegmentStarted => Entries.Count > 0 && Entries[0] is SegmentStartEntry;

    public bool HasAutoRunPending => NotifyBuffer.Any(n => n is PendingNotify { AutoRun: true });

    public void Apply(IJournalEvent e)
    {
        Delegation.Apply(e);
        switch (e)
        {
            case WorkerCreated c:
                Created = true;
                WorkerName = c.WorkerName;
                SessionId = c.SessionId;
                SegmentId = c.SegmentId;
                Manifest = c.Manifest.Clone();
                break;
            case LogEntry entry:
                Entries.Add(entry);
                Replay(entry);
                break;
            case EntriesDiscarded d when d.SegmentId == SegmentId && d.KeepEntries < Entries.Count:
                Entries.RemoveRange(d.KeepEntries, Entries.Count - d.KeepEntries);
                RebuildFromEntries();
                RunInFlight = false;
                break;
            case EntriesDiscarded:
                break;
            case SegmentRotated r:
                PreviousSegments.Add(new(SegmentId, Entries.Count, History.Count, r.Ts));
                SegmentId = r.SegmentId;
                Entries.Clear();
                History.Clear();
                Usage.Clear();
                break;
            case NotifyQueued q:
                if (NotifyBuffer.Count >= NotifyCapacity) NotifyBuffer.RemoveAt(0);
                NotifyBuffer.Add(q.Entry);
                break;
            case NotifyDrained d:
                NotifyBuffer.RemoveRange(0, Math.Min(d.Count, NotifyBuffer.Count));
                break;
            case RunPaused:
                Paused = true;
                break;
            case RunResumed:
                Paused = false;
                RunInFlight = true;
                break;
        }
    }

    /// <summary>Folds one entry into the derived state (the table of reference-engine §4.3).</summary>
    private void Replay(LogEntry entry)
    {
        switch (entry)
        {
            case SegmentStartEntry s:
                SessionId = s.SessionId;
                SystemPrompt = s.SystemPrompt;
                Config = s.Config;
                History.Clear();
                History.AddRange(s.History);
                if (s.CompactedFrom is { } from) TurnCount = from.AtTurnIndex; // the turn count carries across a compaction
                break;
            case InvokeEntry:
                LastRunInterrupted = true;
                Paused = false;
                RunInFlight = true;
                break;
            case UserInputEntry u:
                History.Add(MessageItem.Text(Role.User, Segment.FlattenAll(u.Segments)));
                break;
            case AssistantItemEntry a:
                History.Add(a.Item);
                break;
            case ToolResultEntry t:
                History.Add(t.Item);
                break;
            case SystemItemEntry si:
                History.Add(MessageItem.Text(Role.System, si.Item.ReplayText()));
                // The interrupt note closes the interrupted turn: a later rollback to just after it must not prep again.
                if (si.Item is InterruptSystemItem) LastRunInterrupted = false;
                break;
            case TurnEndEntry te:
                TurnCount = te.TurnCount;
                break;
            case RunCompletedEntry rc:
                LastRunInterrupted = rc.Interrupted;
                RunInFlight = false;
                break;
            case RunErroredEntry re:
                LastRunInterrupted = re.Interrupted;
                RunInFlight = false;
                break;
            case PausedTurnAbandonedEntry:
                LastRunInterrupted = false;
                Paused = false;
                break;
            case ConfigChangedEntry cc:
                Config = cc.Config;
                break;
            case LlmUsageEntry lu:
                Usage.Add(lu);
                break;
        }
    }

    private void RebuildFromEntries()
    {
        History.Clear();
        Usage.Clear();
        SystemPrompt = null;
        Config = RequestConfig.Default;
        TurnCount = 0;
        LastRunInterrupted = false;
        var paused = Paused;
        foreach (var entry in Entries) Replay(entry);
        Paused = paused;
    }

    /// <summary>Tool calls in history with no result anywhere in history, in history order.</summary>
    public IReadOnlyList<ToolCallItem> UnansweredToolCalls()
    {
        var answered = History.OfType<ToolResultItem>().Select(r => r.CallId).ToHashSet();
        return History.OfType<ToolCallItem>().Where(c => !answered.Contains(c.CallId)).ToList();
    }

    public WorkerSnapshot ToSnapshot() =>
        new(WorkerName, SessionId, SegmentId, Manifest, Entries.ToList(), NotifyBuffer.ToList(), Paused, RunInFlight, Delegation.ToSnapshot(),
            PreviousSegments.ToList());

    public static WorkerState FromSnapshot(WorkerSnapshot s)
    {
        var state = new WorkerState
        {
            Created = true,
            WorkerName = s.WorkerName,
            SessionId = s.SessionId,
            SegmentId = s.SegmentId,
            Manifest = s.Manifest.Clone(),
        };
        state.Entries.AddRange(s.Entries);
        state.NotifyBuffer.AddRange(s.NotifyBuffer);
        state.RebuildFromEntries();
        state.Paused = s.Paused;
        state.RunInFlight = s.RunInFlight;
        if (s.PreviousSegments is { } previous) state.PreviousSegments.AddRange(previous);
        state.Delegation = Yoi.Actors.Delegation.DelegationState.FromSnapshot(s.Delegation);
        return state;
    }
}
