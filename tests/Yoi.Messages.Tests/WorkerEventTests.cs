using Xunit;
using Yoi.Messages.Json;

namespace Yoi.Messages.Tests;

public class WorkerEventTests
{
    [Fact]
    public void Turn_ended_errored_shut_down_are_agent_visible_and_scope_sub_delegated_is_not()
    {
        Assert.True(new TurnEndedWorkerEvent("c").IsAgentVisible);
        Assert.True(new ErroredWorkerEvent("c", "boom").IsAgentVisible);
        Assert.True(new ShutDownWorkerEvent("c").IsAgentVisible);
        Assert.False(new ScopeSubDelegatedWorkerEvent("p", "s", "/sock", []).IsAgentVisible);
    }

    [Theory]
    [InlineData("""{"kind":"turn_ended","worker_name":"child"}""")]
    [InlineData("""{"kind":"errored","worker_name":"child","message":"boom"}""")]
    [InlineData("""{"kind":"shut_down","worker_name":"child"}""")]
    [InlineData("""{"kind":"scope_sub_delegated","parent_worker":"p","sub_worker":"s","sub_socket":"/run/s/sock","scope":[{"target":"/repo/src","permission":"write","recursive":true}]}""")]
    public void Worker_event_round_trips_byte_identical(string json)
    {
        Assert.Equal(json, Wire.Reencode<WorkerEvent>(json));
    }

    [Fact]
    public void Worker_event_does_not_write_agent_visibility()
    {
        Assert.Equal("""{"kind":"shut_down","worker_name":"c"}""", YoiJson.Serialize<WorkerEvent>(new ShutDownWorkerEvent("c")));
    }

    [Fact]
    public void Scope_rule_recursive_defaults_to_true_when_absent()
    {
        Assert.True(YoiJson.Deserialize<ScopeRule>("""{"target":"/a","permission":"read"}""").Recursive);
    }

    [Fact]
    public void Render_texts_match_the_reference()
    {
        Assert.Equal("worker `c` finished a turn", new TurnEndedWorkerEvent("c").Render());
        Assert.Equal("worker `c` errored: boom", new ErroredWorkerEvent("c", "boom").Render());
        Assert.Equal("worker `c` shut down", new ShutDownWorkerEvent("c").Render());
        Assert.Equal("worker `p` sub-delegated scope to `s`", new ScopeSubDelegatedWorkerEvent("p", "s", "/x", []).Render());
    }
}
