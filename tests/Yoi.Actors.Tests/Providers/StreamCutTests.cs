using System.Text;
using Yoi.Actors.Engine;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>Spec README item 8, systematically: each complete recorded stream is cut at every event boundary (a clean
/// end of body), at several points inside every event (and at every character of each tool-argument fragment), and
/// by an aborted transfer (the chunked body reset after the prefix), then served by the loopback stub to the real
/// HTTP client and the real engine, followed by a plain text response. Whatever the cut, a tool runs only with the
/// arguments of a complete stream, and the run either behaves exactly as the uncut stream did (the prefix holds the
/// scheme's terminal signal) or continues / retries the call (§1.5, §2) with only completed text and reasoning of
/// the cut stream kept — never a silent finish of the cut stream.</summary>
public sealed class StreamCutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private enum Mode { BetweenEvents, InsideEvent, AbortedTransfer }

    private sealed record Scheme(string Name, string Completion, string[] TerminalMarkers);

    private static readonly Scheme Chat = new("openai_chat", "openai-chat/text.sse", ["\"finish_reason\":\"", "data: [DONE]"]);
    private static readonly Scheme Anthropic = new("anthropic", "anthropic/text.sse", ["\"type\":\"message_stop\"", "\"type\":\"error\""]);
    private static readonly Scheme Responses = new("openai_responses", "openai-responses/text.sse",
        ["\"type\":\"response.completed\"", "\"type\":\"response.incomplete\"", "\"type\":\"response.failed\""]);

    [Fact]
    public Task Openai_chat_parallel_tool_calls_cut_anywhere() => CutEverywhere(Chat, Fixtures.Read("openai-chat/parallel_tool_calls.sse"));

    [Fact]
    public Task Openai_chat_fragmented_tool_call_cut_anywhere() => CutEverywhere(Chat, Fixtures.Read("openai-chat/tool_call.sse"));

    [Fact]
    public Task Openai_chat_text_cut_anywhere() => CutEverywhere(Chat, Fixtures.Read("openai-chat/text.sse"));

    [Fact]
    public Task Anthropic_text_and_tool_use_cut_anywhere() => CutEverywhere(Anthropic, Fixtures.Read("anthropic/tool_use.sse"));

    [Fact]
    public Task Anthropic_thinking_cut_anywhere() => CutEverywhere(Anthropic, Fixtures.Read("anthropic/thinking.sse"));

    [Fact]
    public Task Anthropic_stream_cut_before_its_error_event_is_continued_not_a_success() =>
        CutEverywhere(Anthropic, Fixtures.Read("anthropic/error_event.sse"));

    [Fact]
    public Task Openai_responses_reasoning_text_and_parallel_calls_cut_anywhere() => CutEverywhere(Responses, WireStreams.ResponsesToolCalls);

    [Fact]
    public Task Openai_responses_text_cut_anywhere() => CutEverywhere(Responses, Fixtures.Read("openai-responses/text.sse"));

    private sealed record Run(string Outcome, string[] Calls, string[] History, int Continuations, int Retries, int Requests);

    private static async Task<Run> RunAsync(Scheme scheme, Resp first)
    {
        await using var rig = new ProviderRig(scheme.Name, first, Resp.FromFixture(scheme.Completion));
        var read = new FakeTool("Read");
        var outcome = await rig.RunAsync("go", Ct, read);
        return new Run(
            outcome.Result?.ToString() ?? outcome.Error!.Display,
            read.Calls.Select(c => c.Input).Order(StringComparer.Ordinal).ToArray(), // a batch runs concurrently: any order
            Texts(rig.State.History),
            rig.Host.Of<LlmContinuationEvent>().Count,
            rig.Host.Of<LlmRetryEvent>().Count,
            rig.Requests.Count);
    }

    private async Task CutEverywhere(Scheme scheme, string full)
    {
        var expected = await RunAsync(scheme, new Resp.Sse(full));
        var completionOnly = await RunAsync(scheme, Resp.FromFixture(scheme.Completion));
        var completionText = completionOnly.History[^1];
        Assert.Equal(0, expected.Continuations + expected.Retries); // the uncut stream is the reference run
        // items the cut stream may keep: completed reasoning and text (never tool calls or results)
        var keepable = expected.History.Skip(1)
            .Where(h => !h.StartsWith("call:", StringComparison.Ordinal) && !h.StartsWith("result:", StringComparison.Ordinal))
            .ToList();

        var cuts = CutPoints(full);
        var failures = new List<string>();
        var counts = new Dictionary<Mode, int>();
        foreach (var (mode, at) in cuts)
        {
            var prefix = full[..at];
            // inside an event, only the events before the cut one count (the cut one is never dispatched)
            var lastBoundary = prefix.LastIndexOf("\n\n", StringComparison.Ordinal);
            var wholeEvents = mode != Mode.InsideEvent ? prefix : lastBoundary < 0 ? "" : prefix[..(lastBoundary + 2)];
            var complete = HasTerminal(scheme, wholeEvents);
            var response = mode == Mode.AbortedTransfer ? (Resp)new Resp.ChunkedAbort(prefix) : new Resp.Sse(prefix);
            var run = await RunAsync(scheme, response);
            counts[mode] = counts.GetValueOrDefault(mode) + 1;
            var problem = Check(run, expected, complete, mode == Mode.AbortedTransfer, keepable, completionText);
            if (problem is not null) failures.Add($"{mode} at {at} (…{Tail(prefix)}): {problem}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cuts.Count} cuts misbehaved:\n" + string.Join("\n", failures));
        // the generator really produced cuts of each kind (a test over no cut points could not fail)
        Assert.All(Enum.GetValues<Mode>(), m => Assert.True(counts.GetValueOrDefault(m) >= 3, $"{m}: {counts.GetValueOrDefault(m)} cuts"));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{scheme.Name}: {cuts.Count} cuts ({string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}), all continued or complete");
    }

    private static string? Check(Run run, Run expected, bool complete, bool aborted, List<string> keepable, string completionText)
    {
        // No tool ever runs with arguments the complete stream did not carry.
        foreach (var call in run.Calls)
            if (!expected.Calls.Contains(call)) return $"a tool ran with invented arguments {call}";

        var sameAsFull = run.Outcome == expected.Outcome && run.Calls.SequenceEqual(expected.Calls)
                         && run.History.SequenceEqual(expected.History) && run.Continuations + run.Retries == 0;
        if (complete && !aborted) return sameAsFull ? null : $"a complete prefix did not behave as the full stream: {Describe(run)}";
        if (complete && sameAsFull) return null; // an aborted transfer after the terminal signal may still count as complete

        // Interrupted: continued (§1.5) or, with no event before the cut, retried (§2) — then finished by the next response.
        if (run.Continuations + run.Retries != 1) return $"no continuation or retry: {Describe(run)}";
        if (run.Calls.Length != 0) return $"a tool of the cut stream ran: {Describe(run)}";
        if (run.Outcome != "Finished") return $"did not finish through the next call: {Describe(run)}";
        if (run.Requests != 2) return $"expected 2 requests, got {run.Requests}";
        if (run.History[0] != "User:go" || run.History[^1] != completionText) return $"unexpected history {Describe(run)}";
        // what the cut stream left is an in-order subsequence of the completed text / reasoning of the full stream
        var k = 0;
        foreach (var item in run.History.Skip(1).SkipLast(1))
        {
            while (k < keepable.Count && keepable[k] != item) k++;
            if (k == keepable.Count) return $"the cut stream committed {item}, which the full stream does not complete";
            k++;
        }
        return null;
    }

    private static string Describe(Run r) =>
        $"{r.Outcome}; calls [{string.Join(", ", r.Calls)}]; history [{string.Join(" | ", r.History)}]; continuations {r.Continuations}, retries {r.Retries}";

    private static string Tail(string s) => s.Length <= 40 ? s.ReplaceLineEndings("⏎") : s[^40..].ReplaceLineEndings("⏎");

    private static bool HasTerminal(Scheme scheme, string wholeEvents) =>
        scheme.TerminalMarkers.Any(m => wholeEvents.Contains(m, StringComparison.Ordinal));

    /// <summary>Every event boundary (clean end and aborted transfer), and inside every event: just after its first
    /// character, between its <c>event:</c> and <c>data:</c> lines, a few points in the data line including just
    /// before the line's newline (complete JSON, unterminated line), and every character of a tool-argument fragment.
    /// Aborted transfers also at the middle of each data line.</summary>
    private static List<(Mode Mode, int At)> CutPoints(string full)
    {
        var cuts = new List<(Mode, int)>();
        var starts = new List<int> { 0 };
        for (var i = full.IndexOf("\n\n", StringComparison.Ordinal); i >= 0 && i + 2 < full.Length; i = full.IndexOf("\n\n", i + 2, StringComparison.Ordinal))
            starts.Add(i + 2);
        foreach (var s in starts)
        {
            cuts.Add((Mode.BetweenEvents, s));
            if (s > 0) cuts.Add((Mode.AbortedTransfer, s)); // an empty chunk would be the terminating chunk: not a cut
        }
        foreach (var s in starts)
        {
            var end = full.IndexOf("\n\n", s, StringComparison.Ordinal);
            if (end < 0) end = full.TrimEnd('\n').Length;
            var inside = new SortedSet<int> { s + 1 };
            var data = full.IndexOf("data: ", s, StringComparison.Ordinal);
            if (data < 0 || data >= end) continue;
            if (data > s) inside.Add(data); // after the event: line
            var lineEnd = full.IndexOf('\n', data);
            if (lineEnd < 0 || lineEnd > end) lineEnd = end;
            inside.Add(data + 3);
            inside.Add((data + lineEnd) / 2);
            inside.Add(lineEnd); // everything but the newline
            foreach (var marker in new[] { "\"partial_json\":\"", "\"arguments\":\"", "arguments.delta\",", })
            {
                var m = full.IndexOf(marker, data, StringComparison.Ordinal);
                if (m < 0 || m > lineEnd) continue;
                var value = marker.StartsWith("arguments.delta", StringComparison.Ordinal)
                    ? full.IndexOf("\"delta\":\"", m, StringComparison.Ordinal) + 9
                    : m + marker.Length;
                for (var p = value; p < lineEnd && !(full[p] == '"' && full[p - 1] != '\\'); p++) inside.Add(p);
            }
            foreach (var p in inside.Where(p => p > s && p <= lineEnd)) cuts.Add((Mode.InsideEvent, p));
            cuts.Add((Mode.AbortedTransfer, (data + lineEnd) / 2));
        }
        return cuts;
    }
}
