using Yoi.Actors.Engine;
using Yoi.Messages;
using static Yoi.Actors.Tests.Engine.Kit;

namespace Yoi.Actors.Tests.Engine;

/// <summary>Spec README item 8 at the engine: <see cref="StreamCompleteness.RequireComplete"/> (the helper a
/// non-SSE client such as an IChatClient adapter uses) turns a source that ends without <see cref="StreamComplete"/>
/// into an interrupted stream, which the engine continues (reference-engine §1.5).</summary>
public sealed class StreamCompletenessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StreamEvent[] TextThenCall(bool terminal) =>
    [
        new BlockStart(0, BlockType.Text), new BlockDelta(0, DeltaKind.Text, "Reading."), new BlockStop(0, BlockType.Text),
        new BlockStart(1, BlockType.ToolUse, "c1", "t"), new BlockDelta(1, DeltaKind.InputJson, "{\"path\":\"a\"}"),
        .. terminal ? new StreamEvent[] { new StreamComplete(StopReason.ToolUse, "tool_calls") } : [],
    ];

    private static IAsyncEnumerable<StreamEvent> Guarded(IEnumerable<StreamEvent> events, Exception? thenThrow = null) =>
        StubModel.Events(events, thenThrow).RequireComplete("the test terminal");

    [Fact]
    public async Task A_source_ending_without_the_terminal_signal_is_continued_keeping_completed_text_and_discarding_its_calls()
    {
        var tool = new FakeTool("t");
        var model = new StubModel(
            (_, _) => Guarded(TextThenCall(terminal: false)),
            (_, _) => Guarded([new BlockDelta(0, DeltaKind.Text, " Done."), new StreamComplete(StopReason.EndTurn)]));
        var host = new FakeHost();
        var state = new EngineState();

        var outcome = await NewEngine(model, host, state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Empty(tool.Calls);
        Assert.Equal(["User:go", "Assistant:Reading.", "Assistant: Done."], Texts(state.History));
        var continuation = Assert.Single(host.Of<LlmContinuationEvent>());
        Assert.Equal("stream interrupted: the response ended without the test terminal", continuation.Reason);
        Assert.Equal(2, model.Requests.Count);
        Assert.Equal("Assistant:Reading.", TextOf(model.Requests[1].Items[^1])); // the new call continues the partial text
    }

    [Fact]
    public async Task A_source_with_the_terminal_signal_completes_and_runs_the_open_call()
    {
        var tool = new FakeTool("t");
        var model = new StubModel(
            (_, _) => Guarded(TextThenCall(terminal: true)),
            (_, _) => Guarded([new BlockDelta(0, DeltaKind.Text, "ok"), new StreamComplete()]));
        var state = new EngineState();

        var outcome = await NewEngine(model, new FakeHost(), state, tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Equal(["{\"path\":\"a\"}"], tool.Calls.Select(c => c.Input));
    }

    [Fact]
    public async Task A_transport_failure_after_the_terminal_signal_still_ends_a_complete_stream()
    {
        var tool = new FakeTool("t");
        var model = new StubModel(
            (_, _) => Guarded(TextThenCall(terminal: true), new IOException("reset while reading the usage chunk")),
            (_, _) => Guarded([new BlockDelta(0, DeltaKind.Text, "ok"), new StreamComplete()]));
        var host = new FakeHost();

        var outcome = await NewEngine(model, host, new EngineState(), tools: tool).RunAsync(User("go"), Ct);

        Assert.Equal(EngineResult.Finished, outcome.Result);
        Assert.Single(tool.Calls);
        Assert.Empty(host.Of<LlmContinuationEvent>());
    }

    [Fact]
    public async Task Four_sources_in_a_row_without_the_terminal_signal_fail_the_run_with_a_clear_error()
    {
        var model = new StubModel((_, _) => Guarded([new BlockDelta(0, DeltaKind.Text, "x")]));

        var outcome = await NewEngine(model, new FakeHost()).RunAsync(User("go"), Ct);

        Assert.Equal("Client error: LLM stream interrupted too many times: stream interrupted: the response ended without the test terminal",
            outcome.Error!.Display);
        Assert.Equal(4, model.Requests.Count);
    }
}
