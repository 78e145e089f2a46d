using Yoi.Host.Tests.Infrastructure;
using Yoi.Messages;

namespace Yoi.Host.Tests;

/// <summary>Black-box tests of `yoi serve`'s client endpoint over its Unix socket (one shared node).</summary>
public sealed class EndpointTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private YoiServer Server => fixture.Server;
    private TempDir Dir => fixture.Dir;

    private Task<WireClient> ConnectAsync() => WireClient.ConnectAsync(Server.SocketPath);

    private static Method Run(string text) => new RunMethod([new TextSegment(text)]);

    private string Diagnostics => "\n--- server output ---\n" + Server.Output;

    [Fact(Timeout = 30_000)]
    public async Task Attach_to_a_missing_worker_without_create_is_rejected()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(new AttachMethod("ghost-worker"));

        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);

        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_rejected_attach_leaves_the_connection_open_for_another_attach()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(new AttachMethod("ghost-2"));
        await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);

        var snapshot = await client.AttachAsync("second-try", Scripted.Create(Dir, "second-try", Scripted.Text("hi")));

        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
    }

    [Fact(Timeout = 30_000)]
    public async Task Invalid_worker_names_are_rejected_naming_the_rule()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(new AttachMethod("bad name!"));

        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);

        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("[A-Za-z0-9._-]{1,64}", error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task Attach_with_create_gets_a_snapshot_then_a_run_streams_in_order()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(new AttachMethod("create-run", Scripted.Create(Dir, "create-run", Scripted.Text("Hello", " World"))));

        var first = await client.ReadUntilAsync(e => e is not AlertEvent, Timeout);
        Assert.IsType<SnapshotEvent>(first);

        await client.SendAsync(Run("hi"));
        var events = await client.CollectUntilAsync(e => e is StatusEvent { Status: not WorkerStatus.Running } || e is ErrorEvent, Timeout);

        AssertOrderedSubsequence(events,
            e => e is StatusEvent { Status: WorkerStatus.Running },
            e => e is TurnStartEvent,
            e => e is TextDeltaEvent,
            e => e is TextDoneEvent { Text: "Hello World" },
            e => e is TurnEndEvent,
            e => e is RunEndEvent { Result: RunResult.Finished },
            e => e is StatusEvent { Status: WorkerStatus.Idle });
        Assert.Equal(2, events.Count(e => e is StatusEvent)); // no other status value in between
    }

    [Theory(Timeout = 30_000)]
    [InlineData("{\"bad\":\"json\"}")]
    [InlineData("{not-json}")]
    public async Task Malformed_lines_get_invalid_method_and_the_connection_stays_usable(string line)
    {
        var worker = "malformed-" + (line.Contains("bad") ? "a" : "b");
        await using var client = await ConnectAsync();
        await client.AttachAsync(worker, Scripted.Create(Dir, worker, Scripted.Text("ok")));

        await client.SendRawAsync(line);
        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("invalid method", error.Message);

        // still usable: a valid method reaches the Worker
        await client.SendAsync(new PauseMethod());
        var reply = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.Equal(ErrorCode.NotRunning, reply.Code);
    }

    [Fact(Timeout = 30_000)]
    public async Task Malformed_line_before_attach_gets_invalid_method_too()
    {
        await using var client = await ConnectAsync();
        await client.SendRawAsync("{not-json}");
        var error = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);
        Assert.Contains("invalid method", error.Message);

        var snapshot = await client.AttachAsync("after-garbage", Scripted.Create(Dir, "after-garbage", Scripted.Text("ok")));
        Assert.Equal(WorkerStatus.Idle, snapshot.Status);
    }

    [Fact(Timeout = 30_000)]
    public async Task Run_tracked_is_an_invalid_method_and_starts_no_run()
    {
        await using var client = await ConnectAsync();
        await client.AttachAsync("tracked", Scripted.Create(Dir, "tracked", Scripted.Text("should not run")));

        await client.SendRawAsync("""{"method":"run_tracked","input":[],"submission_id":"forged"}""");
        await client.SendRawAsync("""{"method":"run_tracked","params":{"input":[{"kind":"text","content":"x"}],"submission_id":"forged"}}""");

        var first = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        var second = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.All(new[] { first, second }, e =>
        {
            Assert.Equal(ErrorCode.InvalidRequest, e.Code);
            Assert.Contains("invalid method", e.Message);
        });

        var later = await client.DrainAsync(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(later, e => e is StatusEvent or TurnStartEvent or InvokeStartEvent);

        await client.SendAsync(new PauseMethod());
        var reply = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        Assert.Equal(ErrorCode.NotRunning, reply.Code);
    }

    [Fact(Timeout = 30_000)]
    public async Task Attach_and_hello_after_attach_are_invalid()
    {
        await using var client = await ConnectAsync();
        await client.AttachAsync("double-attach", Scripted.Create(Dir, "double-attach", Scripted.Text("ok")));

        await client.SendAsync(new AttachMethod("double-attach"));
        var e1 = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);
        await client.SendAsync(new HelloMethod("x"));
        var e2 = await client.ReadUntilAsync<ErrorEvent>(timeout: Timeout);

        Assert.All(new[] { e1, e2 }, e =>
        {
            Assert.Equal(ErrorCode.InvalidRequest, e.Code);
            Assert.Contains("invalid method", e.Message);
        });
    }

    [Fact(Timeout = 30_000)]
    public async Task Two_clients_on_one_worker_both_receive_live_events()
    {
        await using var a = await ConnectAsync();
        await using var b = await ConnectAsync();
        await a.AttachAsync("shared", Scripted.Create(Dir, "shared", Scripted.Text("Hello", " both")));
        await b.AttachAsync("shared");

        await a.SendAsync(Run("hi"));

        foreach (var client in new[] { a, b })
        {
            var events = await client.CollectUntilAsync(e => e is StatusEvent { Status: WorkerStatus.Idle } || e is ErrorEvent, Timeout);
            Assert.Contains(events, e => e is TextDeltaEvent);
            Assert.Contains(events, e => e is TextDoneEvent { Text: "Hello both" });
            Assert.Contains(events, e => e is RunEndEvent { Result: RunResult.Finished });
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_client_connecting_mid_run_sees_running_and_the_user_input()
    {
        await using var a = await ConnectAsync();
        await a.AttachAsync("midrun", Scripted.Create(Dir, "midrun", Scripted.Hang()));
        await a.SendAsync(Run("hello in-flight"));
        await a.ReadUntilAsync<UserMessageEvent>(timeout: Timeout);

        await using var b = await ConnectAsync();
        await b.SendAsync(new AttachMethod("midrun"));
        var first = await b.ReadUntilAsync(e => e is not AlertEvent, Timeout);

        var snapshot = Assert.IsType<SnapshotEvent>(first);
        Assert.Equal(WorkerStatus.Running, snapshot.Status);
        Assert.Contains(snapshot.Entries, e => e is UserInputEntry u && Segment.FlattenAll(u.Segments) == "hello in-flight");

        await a.SendAsync(new CancelMethod()); // leave the Worker idle
        await a.ReadUntilAsync(e => e is StatusEvent { Status: WorkerStatus.Idle }, Timeout);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_client_closing_produces_no_error_event()
    {
        await using var watcher = await ConnectAsync();
        await watcher.AttachAsync("quiet-close", Scripted.Create(Dir, "quiet-close", Scripted.Text("ok")));

        var leaver = await ConnectAsync();
        await leaver.AttachAsync("quiet-close");
        await leaver.DisposeAsync();

        var later = await watcher.DrainAsync(TimeSpan.FromMilliseconds(700));
        Assert.DoesNotContain(later, e => e is ErrorEvent);

        await watcher.SendAsync(new PauseMethod()); // the Worker is still there
        Assert.Equal(ErrorCode.NotRunning, (await watcher.ReadUntilAsync<ErrorEvent>(timeout: Timeout)).Code);
    }

    [Fact]
    public void The_socket_file_is_private()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        var mode = File.GetUnixFileMode(Server.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    private void AssertOrderedSubsequence(IReadOnlyList<Event> events, params Func<Event, bool>[] steps)
    {
        var i = 0;
        foreach (var e in events)
            if (i < steps.Length && steps[i](e)) i++;
        Assert.True(i == steps.Length,
            $"step {i} of {steps.Length} not found in order; events:\n{WireClient.Dump(events)}{Diagnostics}");
    }
}
