using System.Text.Json;
using Yoi.Actors.Compaction;
using Yoi.Actors.Engine;
using Yoi.Actors.Engine.Scripted;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Providers;
using Yoi.Actors.Tests.Worker;
using Yoi.Actors.Worker;
using Yoi.Messages;
using static Yoi.Actors.Tests.Worker.Kit;

namespace Yoi.Actors.Tests.Compaction;

/// <summary>Compaction on the real Worker actor (single-node cluster, SQLite journal, serialize-messages on):
/// reference-engine §9 items 47–52 and reference-protocol §10 item 42, the skip alerts, the greeting's
/// context_tokens, the journal keeping the compacted items, and recovery after a compaction.</summary>
[Collection(WorkerNodeCollection.Name)]
public sealed class CompactionWorkerTests(WorkerNodeFixture node)
{
    private static void AssertItem(HistoryItem expected, HistoryItem actual) =>
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected, Yoi.Messages.Json.YoiJson.Options),
            System.Text.Json.JsonSerializer.Serialize(actual, Yoi.Messages.Json.YoiJson.Options));

    private static ScriptedResponse Summary(string text) =>
        Resp(new ScriptToolCall(null, SummariserTools.WriteSummary, JsonSerializer.Serialize(new { text })));

    private static ScriptedResponse Text(string text, ulong? input = null) =>
        input is null ? Resp(new ScriptText(text)) : Resp(new ScriptText(text), new ScriptUsage(Input: input, Output: 3));

    private static async Task RunToIdleAsync(WorkerClient client, string text)
    {
        client.Run(text);
        await client.UntilStatusAsync(WorkerStatus.Idle);
    }

    private async Task<WorkerInspection> InspectAsync(WorkerClient client, string name)
    {
        node.Region.Tell(new WorkerEnvelope(name, new InspectWorker(client.Ref)), Akka.Actor.ActorRefs.NoSender);
        return await client.NextAsync<WorkerInspection>();
    }

    private static List<JsonElement> CompactionBlocks(IEnumerable<LogEntry> entries) =>
        entries.OfType<ExtensionEntry>().Where(e => e.Domain == WorkerActor.CompactionDomain).Select(e => e.Payload).ToList();

    private sealed record JournalRowView(string Manifest, string Kind, string Json);

    private List<JournalRowView> Rows(string name) => node.Journal(name).Select(r =>
    {
        var json = Parse(r);
        var kind = r.Manifest == "entry" ? json.GetProperty("kind").GetString()! : r.Manifest;
        return new JournalRowView(r.Manifest, kind, r.Json);
    }).ToList();

    // engine §9 #47
    [Fact]
    public async Task Over_the_threshold_the_next_run_compacts_first_into_a_new_segment_of_the_same_session()
    {
        const string name = "cp-proactive";
        var model = Script(Text("first answer", input: 1_000), Summary("The user said one."), Text("summary written"), Text("second answer"));
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nthreshold = 100\nretained_tokens = 1");
        await using var _c = client;
        await RunToIdleAsync(client, "one");
        var before = await InspectAsync(client, name);

        var mark = client.Mark();
        await RunToIdleAsync(client, "two");
        var seen = client.Since(mark);
        var done = seen.OfType<CompactDoneEvent>().Single();
        AssertOrderedSubsequence(seen, new StatusEvent(WorkerStatus.Running), new CompactStartEvent(),
            seen.OfType<SegmentRotatedEvent>().Single(), done, new InvokeStartEvent(InvokeKind.UserSend),
            new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));

        var after = await InspectAsync(client, name);
        Assert.Equal(before.SessionId, after.SessionId);
        Assert.Equal(done.NewSegmentId, after.SegmentId);
        Assert.NotEqual(before.SegmentId, after.SegmentId);

        var entries = (await node.FreshSnapshotAsync(name)).Entries;
        var start = Assert.IsType<SegmentStartEntry>(entries[0]);
        Assert.Equal(before.SegmentId, start.CompactedFrom!.SegmentId);
        Assert.Equal(1UL, start.CompactedFrom.AtTurnIndex);
        Assert.Equal(before.SessionId, start.SessionId);
        Assert.Equal(Summariser.SummaryPrefix + "The user said one.", ((MessageItem)start.History[0]).PlainText);
        AssertItem(MessageItem.Text(Role.Assistant, "first answer"), start.History[1]);
        var doneBlock = CompactionBlocks([entries[1]]).Single(); // the new segment's second entry is the done block
        Assert.Equal("done", doneBlock.GetProperty("state").GetString());
        Assert.Equal(done.NewSegmentId.ToString(), doneBlock.GetProperty("new_segment_id").GetString());
        Assert.Equal(["segment_start", "extension", "invoke", "user_input", "assistant_item", "turn_end", "run_completed"], Kinds(entries));

        // The old segment ends with the running block; its entries stay in the journal (ours beyond the reference).
        var rows = Rows(name);
        var rotated = rows.FindIndex(r => r.Manifest == "segment_rotated");
        Assert.Equal("extension", rows[rotated - 1].Kind);
        Assert.Contains("\"state\":\"running\"", rows[rotated - 1].Json);
        Assert.Contains(rows.Take(rotated), r => r.Kind == "user_input" && r.Json.Contains("\"one\""));
        var previous = Assert.Single(after.PreviousSegments!);
        Assert.Equal(before.SegmentId, previous.SegmentId);
        Assert.Equal(before.Entries + 1, previous.Entries); // + the running block

        // The model saw the summary, not the summarised input.
        var last = model.Requests[^1];
        Assert.Equal(Summariser.SummaryPrefix + "The user said one.", ((MessageItem)last.Items[0]).PlainText);
        Assert.DoesNotContain(last.Items.OfType<MessageItem>(), m => m.PlainText == "one");
    }

    // engine §9 #48 and the fixed just_compacted quirk
    [Fact]
    public async Task Over_the_request_threshold_the_run_yields_compacts_and_resumes_in_the_new_segment_and_finishes()
    {
        const string name = "cp-midrun";
        var model = Script(Text("first answer", input: 1_000), Summary("S."), Text("ok"), Text("second answer"));
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nrequest_threshold = 100\nretained_tokens = 1");
        await using var _c = client;
        await RunToIdleAsync(client, "one");
        var before = await InspectAsync(client, name);

        var mark = client.Mark();
        await RunToIdleAsync(client, "two");
        var seen = client.Since(mark);
        Assert.Single(seen.OfType<RunEndEvent>(), r => r.Result == RunResult.Finished);
        Assert.DoesNotContain(seen, e => e is ErrorEvent);
        AssertOrderedSubsequence(seen, new InvokeStartEvent(InvokeKind.UserSend), new CompactStartEvent(),
            seen.OfType<CompactDoneEvent>().Single(), new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.Equal(2, seen.OfType<StatusEvent>().Count()); // running … idle: no status in between

        var rows = Rows(name);
        var rotated = rows.FindIndex(r => r.Manifest == "segment_rotated");
        var oldTail = rows.Take(rotated).Where(r => r.Manifest == "entry").Select(r => r.Kind).TakeLast(4).ToList();
        Assert.Equal(["user_input", "turn_end", "run_completed", "extension"], oldTail);
        Assert.Contains(rows.Take(rotated), r => r.Kind == "run_completed" && r.Json.Contains("\"interrupted\":true,\"result\":\"yielded\""));

        var entries = (await node.FreshSnapshotAsync(name)).Entries;
        Assert.Equal(["segment_start", "extension", "assistant_item", "turn_end", "run_completed"], Kinds(entries));
        var start = (SegmentStartEntry)entries[0];
        Assert.Equal(before.SegmentId, start.CompactedFrom!.SegmentId);
        AssertItem(MessageItem.Text(Role.User, "two"), start.History[^1]); // the resumed turn's input is in the tail
        Assert.Equal(new RunCompletedEntry(false, EngineResult.Finished) { Ts = entries[4].Ts }, entries[4]);
        AssertItem(MessageItem.Text(Role.User, "two"), model.Requests[^1].Items[^1]);
    }

    [Fact]
    public async Task A_pause_during_a_mid_run_compaction_pauses_the_turn_and_resume_compacts_and_finishes_it()
    {
        const string name = "cp-midrun-pause";
        // Call 1 (the summariser's first request) hangs until the pause cancels it.
        var model = new GatedModel(Script(Text("first answer", input: 1_000), Summary("S."), Summary("S."), Text("ok"), Text("second answer"))).Hold(1);
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nrequest_threshold = 100\nretained_tokens = 1");
        await using var _c = client;
        await RunToIdleAsync(client, "one");

        client.Run("two");
        await model.Reached(1);
        var mark = client.Mark();
        client.Send(new PauseMethod());
        await client.UntilStatusAsync(WorkerStatus.Paused);
        var paused = client.Since(mark);
        Assert.Contains(new RunEndEvent(RunResult.Paused), paused);
        Assert.DoesNotContain(paused, e => e is ErrorEvent);

        mark = client.Mark();
        client.Send(new ResumeMethod());
        await client.UntilStatusAsync(WorkerStatus.Idle);
        var resumed = client.Since(mark);
        AssertOrderedSubsequence(resumed, new CompactStartEvent(), resumed.OfType<CompactDoneEvent>().Single(),
            new RunEndEvent(RunResult.Finished), new StatusEvent(WorkerStatus.Idle));
        Assert.DoesNotContain(resumed, e => e is ErrorEvent);
        var answer = (await node.FreshSnapshotAsync(name)).Entries.OfType<AssistantItemEntry>().Last();
        AssertItem(MessageItem.Text(Role.Assistant, "second answer"), answer.Item); // the same turn, finished in the new segment
    }

    [Fact]
    public async Task A_yield_right_after_a_compaction_is_a_compaction_thrash_error_not_a_loop()
    {
        const string name = "cp-thrash";
        var huge = new string('s', 2_000); // the summary alone is over request_threshold
        var model = Script(Text("first answer", input: 1_000), Summary(huge), Text("ok"));
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nrequest_threshold = 100\nretained_tokens = 1");
        await using var _c = client;
        await RunToIdleAsync(client, "one");

        var mark = client.Mark();
        await RunToIdleAsync(client, "two");
        var seen = client.Since(mark);
        Assert.Single(seen.OfType<CompactDoneEvent>());
        var error = seen.OfType<ErrorEvent>().Single();
        Assert.Equal(new ErrorEvent(ErrorCode.Internal, WorkerActor.CompactThrashText), error);
        Assert.Equal(3, model.Requests.Count); // no request was sent over the threshold
    }

    // engine §9 #49 (the skip) and the reference's skip alerts
    [Fact]
    public async Task Manual_compact_skips_with_the_reference_alerts()
    {
        var model = Script(Text("hello there"));
        var (plain, _) = await node.StartAsync("cp-skip-none", Script(Text("hi")));
        await using (plain)
        {
            await RunToIdleAsync(plain, "hi");
            plain.Send(new CompactMethod());
            var alert = await plain.NextAsync<AlertEvent>();
            Assert.Equal((AlertLevel.Warn, AlertSource.Compactor, "manual compact is unavailable because [compaction] is not configured"),
                (alert.Level, alert.Source, alert.Message));
        }

        var (client, _) = await node.StartAsync("cp-skip", model, manifestExtra: "[compaction]\nretained_tokens = 100000");
        await using var _c = client;
        client.Send(new CompactMethod());
        Assert.Equal("manual compact skipped: no conversation history to compact", (await client.NextAsync<AlertEvent>()).Message);

        await RunToIdleAsync(client, "hello");
        var mark = client.Mark();
        client.Send(new CompactMethod());
        var skipped = await client.NextAsync<AlertEvent>();
        Assert.Matches(@"^manual compact skipped: current context is within the retained tail \(\d+ <= 100000 tokens\)$", skipped.Message);
        await client.BarrierAsync();
        Assert.DoesNotContain(client.Since(mark), e => e is CompactStartEvent or StatusEvent);
    }

    // protocol §10 #42
    [Fact]
    public async Task Manual_compact_while_idle_broadcasts_start_rotated_done_and_stays_idle()
    {
        const string name = "cp-manual";
        var model = Script(Text("answer one"), Text("answer two"), Summary("Two exchanges."), Text("ok"), Text("answer three"));
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nretained_tokens = 1");
        await using var _c = client;
        await using var other = node.Client();
        await other.AttachAsync(name);
        await RunToIdleAsync(client, "q1");
        await RunToIdleAsync(client, "q2");

        var mark = client.Mark();
        client.Send(new CompactMethod());
        var done = await client.NextAsync<CompactDoneEvent>();
        var seen = client.Since(mark);
        var rotated = seen.OfType<SegmentRotatedEvent>().Single();
        Assert.Equal([typeof(CompactStartEvent), typeof(SegmentRotatedEvent), typeof(CompactDoneEvent)], seen.Select(e => e.GetType()));
        var start = Assert.IsType<SegmentStartEntry>(rotated.Entry);
        Assert.Equal(Summariser.SummaryPrefix + "Two exchanges.", ((MessageItem)start.History[0]).PlainText);
        await other.NextAsync<CompactDoneEvent>(d => d.NewSegmentId == done.NewSegmentId); // broadcast to every client

        var inspection = await InspectAsync(client, name);
        Assert.Equal(WorkerStatus.Idle, inspection.Status);
        Assert.Equal(done.NewSegmentId, inspection.SegmentId);
        Assert.Equal(2, inspection.Entries); // segment_start + the done block
        Assert.DoesNotContain(client.Since(mark), e => e is StatusEvent);

        // The Worker goes on in the new segment; the wire form of the rotated event is the reference's.
        Assert.StartsWith("""{"event":"segment_rotated","data":{"entry":{"kind":"segment_start",""", rotated.Encode());
        await RunToIdleAsync(client, "q3");
        Assert.Equal(["segment_start", "extension", "invoke", "user_input", "assistant_item", "turn_end", "run_completed"],
            Kinds((await node.FreshSnapshotAsync(name)).Entries));
    }

    // engine §9 #50
    [Fact]
    public async Task Three_consecutive_failures_disable_compaction_and_a_success_resets_the_count()
    {
        static ScriptedResponse[] Fail() => [Text("no summary"), Text("still none")];

        var (client, _) = await node.StartAsync("cp-breaker",
            Script([Text("answer"), .. Fail(), .. Fail(), .. Fail()]),
            manifestExtra: "[compaction]\nthreshold = 1000000\nretained_tokens = 1");
        await using (client)
        {
            await RunToIdleAsync(client, "hello");
            for (var i = 0; i < 3; i++)
            {
                client.Send(new CompactMethod());
                await client.NextAsync<CompactFailedEvent>();
                await client.NextAsync<ErrorEvent>();
            }
            var mark = client.Mark();
            client.Send(new CompactMethod());
            Assert.Equal("manual compact is disabled after repeated compaction failures", (await client.NextAsync<AlertEvent>()).Message);
            await client.BarrierAsync();
            Assert.DoesNotContain(client.Since(mark), e => e is CompactStartEvent);
        }

        var (reset, _) = await node.StartAsync("cp-breaker-reset",
            Script([Text("answer"), .. Fail(), .. Fail(), Summary("ok"), Text("ok"), .. Fail(), .. Fail(), Summary("again"), Text("ok")]),
            manifestExtra: "[compaction]\nthreshold = 1000000\nretained_tokens = 1");
        await using (reset)
        {
            await RunToIdleAsync(reset, "hello");
            var results = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                reset.Send(new CompactMethod());
                var e = await reset.NextAsync<Event>(x => x is CompactDoneEvent or CompactFailedEvent or AlertEvent { Level: AlertLevel.Warn });
                results.Add(e switch { CompactDoneEvent => "done", CompactFailedEvent => "failed", _ => "skipped" });
                await reset.BarrierAsync();
            }
            Assert.Equal(["failed", "failed", "done", "failed", "failed", "done"], results);
        }
    }

    // engine §9 #51 and the compact_failed + alert + error trio of protocol §5.1
    [Fact]
    public async Task A_summariser_without_write_summary_fails_and_the_worker_stays_on_the_old_segment()
    {
        const string name = "cp-missing";
        var model = Script(Text("answer"), Text("no summary"), Text("still none"));
        var (client, _) = await node.StartAsync(name, model, manifestExtra: "[compaction]\nretained_tokens = 1");
        await using var _c = client;
        await RunToIdleAsync(client, "hello");
        var before = (await node.FreshSnapshotAsync(name)).Entries;
        var segment = (await InspectAsync(client, name)).SegmentId;

        var mark = client.Mark();
        client.Send(new CompactMethod());
        var error = await client.NextAsync<ErrorEvent>();
        var seen = client.Since(mark);
        var failed = seen.OfType<CompactFailedEvent>().Single();
        Assert.Equal("compact worker finished without calling write_summary", failed.Error);
        var alert = seen.OfType<AlertEvent>().Single();
        Assert.Equal((AlertLevel.Error, AlertSource.Compactor), (alert.Level, alert.Source));
        Assert.Equal(ErrorCode.Internal, error.Code);
        Assert.DoesNotContain(seen, e => e is SegmentRotatedEvent or CompactDoneEvent);

        var after = (await node.FreshSnapshotAsync(name)).Entries;
        Assert.Equal(segment, (await InspectAsync(client, name)).SegmentId);
        Assert.Equal(Json(before), Json(after.Take(before.Count)));
        Assert.Equal(["running", "failed"], CompactionBlocks(after.Skip(before.Count)).Select(p => p.GetProperty("state").GetString()));
        Assert.Equal("Compact failed: compact worker finished without calling write_summary",
            CompactionBlocks(after).Last().GetProperty("message").GetString());
    }

    // engine §9 #52 (on the Worker)
    [Fact]
    public async Task An_old_large_tool_result_is_sent_summary_only_while_the_journal_keeps_its_content()
    {
        const string name = "cp-prune";
        var big = new string('x', 20_000);
        var model = Script(
            Resp(new ScriptToolCall("c1", "big", "{}"), new ScriptUsage(Input: 100, Output: 3)),
            Text("read it", input: 5_100),
            Text("fine"));
        var (client, _) = await node.StartAsync(name, model, [new BigTool(big)],
            manifestExtra: "[compaction]\nprune_protected_tokens = 10\nprune_min_savings = 100");
        await using var _c = client;
        await RunToIdleAsync(client, "read the big file");
        await RunToIdleAsync(client, "and now?");

        Assert.Equal(big, model.Requests[1].Items.OfType<ToolResultItem>().Single().Content); // protected then
        var pruned = model.Requests[2].Items.OfType<ToolResultItem>().Single();
        Assert.Equal(new ToolResultItem("c1", "big file"), pruned);
        var entries = (await node.FreshSnapshotAsync(name)).Entries;
        Assert.Equal(big, entries.OfType<ToolResultEntry>().Single().Item.Content);
        Assert.Contains(node.Journal(name), r => r.Json.Contains(big));
    }

    [Fact]
    public async Task The_greeting_carries_context_tokens()
    {
        const string name = "cp-greeting";
        var (client, first) = await node.StartAsync(name, Script(Text("hi", input: 1_234)));
        await using var _c = client;
        Assert.Equal(0UL, first.Greeting.ContextTokens);
        await RunToIdleAsync(client, "hello");
        var snapshot = await node.FreshSnapshotAsync(name);
        var expected = 1_234 + (ulong)TokenAccounting.Bytes(MessageItem.Text(Role.Assistant, "hi")) / 4; // extrapolated
        Assert.Equal(expected, snapshot.Greeting.ContextTokens);
    }

    [Fact]
    public async Task The_summariser_runs_on_the_openai_chat_client_against_a_stub()
    {
        const string name = "cp-openai";
        await using var server = new StubLlmServer(
            new StubResponse.Sse(Sse.Text("Hello! How can I help?", 40)),
            new StubResponse.Sse(Sse.ToolCall("call_sum", SummariserTools.WriteSummary, """{"text":"The user greeted the assistant."}""")),
            new StubResponse.Sse(Sse.Text("Summary written.", 90)));
        var client = new OpenAIChatClient(new ProviderSettings("openai_chat", "gpt-4o-mini", server.BaseUrl, "sk-test"));
        var (worker, _) = await node.StartAsync(name, client, manifestExtra: "[compaction]\nretained_tokens = 1");
        await using var _c = worker;
        await RunToIdleAsync(worker, "Hi there");

        worker.Send(new CompactMethod());
        var done = await worker.NextAsync<CompactDoneEvent>();
        var start = (SegmentStartEntry)(await node.FreshSnapshotAsync(name)).Entries[0];
        Assert.Equal(Summariser.SummaryPrefix + "The user greeted the assistant.", ((MessageItem)start.History[0]).PlainText);
        AssertItem(MessageItem.Text(Role.Assistant, "Hello! How can I help?"), start.History[1]);
        Assert.Equal(done.NewSegmentId, (await InspectAsync(worker, name)).SegmentId);

        var summariserRequest = server.Requests[1].Json;
        Assert.Equal(Summariser.SystemPrompt, (string?)summariserRequest["messages"]![0]!["content"]);
        Assert.Contains(summariserRequest["tools"]!.AsArray(), t => (string?)t!["function"]!["name"] == SummariserTools.WriteSummary);
        var toolMessage = server.Requests[2].Json["messages"]!.AsArray().Single(m => (string?)m!["role"] == "tool");
        Assert.Equal("call_sum", (string?)toolMessage!["tool_call_id"]);
    }

    [Fact]
    public async Task After_a_restart_the_worker_recovers_in_the_compacted_segment()
    {
        const string name = "cp-restart";
        var (client, _) = await node.StartAsync(name, Script(Text("a1"), Text("a2"), Summary("Before."), Text("ok")),
            manifestExtra: "[compaction]\nretained_tokens = 1");
        await using (client)
        {
            await RunToIdleAsync(client, "q1");
            await RunToIdleAsync(client, "q2");
            client.Send(new CompactMethod());
            await client.NextAsync<CompactDoneEvent>();
        }
        var expected = Json((await node.FreshSnapshotAsync(name)).Entries);

        await node.RestartAsync();
        node.Models[name] = Script(Text("a3"));
        await using var again = node.Client();
        var snapshot = await again.AttachAsync(name);
        Assert.Equal(expected, Json(snapshot.Entries));
        var inspection = await InspectAsync(again, name);
        Assert.Single(inspection.PreviousSegments!);
        await RunToIdleAsync(again, "q3");
        var request = ((ScriptedModelClient)node.Models[name]).Requests.Single();
        Assert.Equal(Summariser.SummaryPrefix + "Before.", ((MessageItem)request.Items[0]).PlainText);
    }

    private sealed class BigTool(string content) : FakeTool("big")
    {
        protected override Task<ToolOutput> Run(JsonElement input, CancellationToken ct) => Task.FromResult(new ToolOutput("big file", content));
    }

    /// <summary>openai_chat SSE bodies.</summary>
    private static class Sse
    {
        private static string Chunk(object choice) => "data: " + JsonSerializer.Serialize(new
        {
            id = "chatcmpl-c", @object = "chat.completion.chunk", created = 1, model = "gpt-4o-mini", choices = new[] { choice },
        }) + "\n\n";

        private static string Usage(int prompt) => "data: " + JsonSerializer.Serialize(new
        {
            id = "chatcmpl-c", @object = "chat.completion.chunk", created = 1, model = "gpt-4o-mini", choices = Array.Empty<object>(),
            usage = new { prompt_tokens = prompt, completion_tokens = 5, total_tokens = prompt + 5 },
        }) + "\n\n";

        public static string Text(string text, int prompt) =>
            Chunk(new { index = 0, delta = new { role = "assistant", content = text }, finish_reason = (string?)null })
            + Chunk(new { index = 0, delta = new { }, finish_reason = "stop" }) + Usage(prompt) + "data: [DONE]\n\n";

        public static string ToolCall(string id, string name, string arguments) =>
            Chunk(new
            {
                index = 0,
                delta = new { role = "assistant", tool_calls = new[] { new { index = 0, id, type = "function", function = new { name, arguments } } } },
                finish_reason = (string?)null,
            })
            + Chunk(new { index = 0, delta = new { }, finish_reason = "tool_calls" }) + Usage(60) + "data: [DONE]\n\n";
    }
}
