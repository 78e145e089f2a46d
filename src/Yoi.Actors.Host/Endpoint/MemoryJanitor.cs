using System.Runtime;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>Gives memory back to the OS after a connection that made the node buffer a large line (MBs) closed.
/// Such a line's pipe segments end up garbage in gen 2, which no collection visits while the node is quiet, so the
/// RSS a flood of large lines left stayed high. One aggressive, compacting collection (which also decommits free
/// memory) is requested shortly after, at most once per <see cref="MinInterval"/>: bounded pause, bounded cost.</summary>
public static class MemoryJanitor
{
    /// <summary>A reader that held at least this much asks for a collection when its connection closes.</summary>
    public const long Threshold = 4 * 1024 * 1024;

    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(10);

    private static int _scheduled;
    private static long _lastRun = -MinInterval.Ticks;

    public static void BufferReleased(long peakBytes)
    {
        if (peakBytes < Threshold) return;
        if (Interlocked.Exchange(ref _scheduled, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            var wait = Delay;
            var sinceLast = TimeSpan.FromTicks(Environment.TickCount64 * TimeSpan.TicksPerMillisecond - Interlocked.Read(ref _lastRun));
            if (sinceLast < MinInterval) wait += MinInterval - sinceLast;
            await Task.Delay(wait);
            Interlocked.Exchange(ref _lastRun, Environment.TickCount64 * TimeSpan.TicksPerMillisecond);
            Interlocked.Exchange(ref _scheduled, 0);
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        });
    }
}
