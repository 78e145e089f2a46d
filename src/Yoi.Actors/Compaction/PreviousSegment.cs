namespace Yoi.Actors.Compaction;

/// <summary>A segment the Worker has left by compaction: its id, how many entries it holds in the journal and how
/// many history items it had when it was summarised (what `yoi inspect` shows a compaction summarised away).</summary>
public sealed record PreviousSegment(Guid SegmentId, int Entries, int HistoryItems, long RotatedAt);
