using BenchmarkDotNet.Attributes;
using Yoi.Actors.Worker;
using Yoi.Messages;

namespace Yoi.Bench;

/// <summary>Micro figures: wire encoding of the hottest events and replay of a 10,000-entry journal.</summary>
[MemoryDiagnoser]
public class Micro
{
    private readonly Event _delta = new TextDeltaEvent("Hello, world");
    private readonly string _line = "{\"method\":\"run\",\"params\":{\"input\":[{\"kind\":\"text\",\"content\":\"Hello\"}]}}";
    private List<IJournalEvent> _journal = [];

    [GlobalSetup]
    public void Setup()
    {
        _journal = [new WorkerCreated(1, "w", Guid.CreateVersion7(), Guid.CreateVersion7(), System.Text.Json.JsonSerializer.SerializeToElement(new { }))];
        _journal.Add(new SegmentStartEntry(Guid.CreateVersion7(), "prompt", RequestConfig.Default, []));
        for (var i = 0; _journal.Count < 10_000; i++)
        {
            _journal.Add(new InvokeEntry(InvokeKind.UserSend));
            _journal.Add(new UserInputEntry([new TextSegment("run " + i)]));
            _journal.Add(new AssistantItemEntry(new ToolCallItem("c" + i, "Echo", "{\"text\":\"ping\"}")));
            _journal.Add(new ToolResultEntry(new ToolResultItem("c" + i, "echo: ping")));
            _journal.Add(new AssistantItemEntry(MessageItem.Text(Role.Assistant, "done")));
            _journal.Add(new TurnEndEntry((ulong)i * 2));
            _journal.Add(new RunCompletedEntry(false, EngineResult.Finished));
        }
    }

    [Benchmark]
    public string EncodeTextDelta() => _delta.Encode();

    [Benchmark]
    public Method DecodeRun() => Method.Decode(_line);

    [Benchmark]
    public int Replay10kEntries()
    {
        var state = new WorkerState();
        foreach (var e in _journal) state.Apply(e);
        return state.History.Count;
    }
}
