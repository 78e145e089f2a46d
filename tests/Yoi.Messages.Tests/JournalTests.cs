using System.Text.Json;
using Xunit;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

/// <summary>Yoi's own journal markers, stored under the manifests of <see cref="JournalManifest"/>.</summary>
public class JournalTests
{
    private static string Store(IJournalEvent e) => JsonSerializer.Serialize(e, JournalManifest.TypeOf(JournalManifest.Of(e)), YoiJson.Options);

    private static IJournalEvent Load(string manifest, string json) =>
        (IJournalEvent)JsonSerializer.Deserialize(json, JournalManifest.TypeOf(manifest), YoiJson.Options)!;

    private static void AssertRoundTrip(string manifest, string json)
    {
        var e = Load(manifest, json);
        Assert.Equal(manifest, JournalManifest.Of(e));
        Assert.Equal(json, Store(e));
    }

    [Fact]
    public void Worker_created_round_trips()
    {
        AssertRoundTrip("worker_created",
            """{"ts":1,"worker_name":"alice","session_id":"0192f0e8-4d84-7d6e-a000-000000000001","segment_id":"0192f0e8-4d84-7d6e-a000-000000000002","manifest":{"model":{"scheme":"scripted"}}}""");
    }

    [Fact]
    public void Entries_discarded_round_trips_for_rollback_and_rewind()
    {
        AssertRoundTrip("entries_discarded", """{"ts":2,"segment_id":"0192f0e8-4d84-7d6e-a000-000000000002","keep_entries":3,"reason":"rollback"}""");
        AssertRoundTrip("entries_discarded", """{"ts":2,"segment_id":"0192f0e8-4d84-7d6e-a000-000000000002","keep_entries":0,"reason":"rewind"}""");
    }

    [Fact]
    public void Notify_queued_round_trips_a_pending_notify()
    {
        AssertRoundTrip("notify_queued", """{"ts":3,"entry":{"kind":"notify","message":"CI is green","auto_run":false}}""");
    }

    [Fact]
    public void Notify_queued_round_trips_a_pending_worker_event()
    {
        AssertRoundTrip("notify_queued", """{"ts":3,"entry":{"kind":"worker_event","event":{"kind":"errored","worker_name":"child","message":"boom"}}}""");
    }

    [Fact]
    public void Notify_queued_entry_decodes_to_its_typed_form()
    {
        var q = Assert.IsType<NotifyQueued>(Load("notify_queued", """{"ts":3,"entry":{"kind":"worker_event","event":{"kind":"turn_ended","worker_name":"c"}}}"""));
        var w = Assert.IsType<PendingWorkerEvent>(q.Entry);
        Assert.Equal(new TurnEndedWorkerEvent("c"), w.Event);
    }

    [Fact]
    public void Notify_drained_round_trips()
    {
        AssertRoundTrip("notify_drained", """{"ts":4,"count":2}""");
    }

    [Fact]
    public void Run_paused_and_run_resumed_round_trip()
    {
        AssertRoundTrip("run_paused", """{"ts":5}""");
        AssertRoundTrip("run_resumed", """{"ts":6}""");
    }

    [Fact]
    public void Every_log_entry_kind_maps_to_the_entry_manifest()
    {
        Assert.Equal("entry", JournalManifest.Of(new PausedTurnAbandonedEntry()));
        Assert.Equal("entry", JournalManifest.Of(typeof(SegmentStartEntry)));
    }

    [Fact]
    public void Unknown_manifest_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => JournalManifest.TypeOf("nope"));
    }
}
