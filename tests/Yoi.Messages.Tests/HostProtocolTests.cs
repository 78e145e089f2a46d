using System.Text.Json;
using Xunit;

namespace Yoi.Messages.Tests;

/// <summary>The host-level inspection methods and their replies (HostProtocol.cs): adjacently tagged like every
/// method and event, snake_case, round-tripping byte-identical.</summary>
public class HostProtocolTests
{
    public static TheoryData<string> HostMethods => new()
    {
        """{"method":"cluster_show"}""",
        """{"method":"cluster_leave","params":{"address":"akka.tcp://yoi@10.0.0.2:4053"}}""",
        """{"method":"cluster_down","params":{"address":"akka.tcp://yoi@10.0.0.2:4053"}}""",
        """{"method":"shards"}""",
        """{"method":"workers"}""",
        """{"method":"inspect","params":{"worker":"alice"}}""",
        """{"method":"restore","params":{"worker":"alice"}}""",
        """{"method":"health"}""",
    };

    public static TheoryData<string> HostEvents => new()
    {
        """{"event":"cluster_state","data":{"self_address":"akka.tcp://yoi@127.0.0.1:4053","leader":"akka.tcp://yoi@127.0.0.1:4053","members":[{"address":"akka.tcp://yoi@127.0.0.1:4053","status":"up","roles":[],"reachable":true,"leader":true,"self":true},{"address":"akka.tcp://yoi@127.0.0.1:4054","status":"leaving","roles":["workers"],"reachable":false,"leader":false,"self":false}],"unreachable":["akka.tcp://yoi@127.0.0.1:4054"]}}""",
        """{"event":"cluster_state","data":{"self_address":"akka.tcp://yoi@127.0.0.1:4053","members":[],"unreachable":[]}}""",
        """{"event":"cluster_command","data":{"action":"leave","address":"akka.tcp://yoi@127.0.0.1:4054","message":"leaving"}}""",
        """{"event":"shards","data":{"regions":[{"region":"worker","nodes":[{"address":"akka.tcp://yoi@127.0.0.1:4053","shards":2,"entities":3,"shard_list":[{"shard_id":"12","entities":1},{"shard_id":"7","entities":2}]},{"address":"akka.tcp://yoi@127.0.0.1:4054","shards":0,"entities":0,"shard_list":[],"error":"unreachable"}]}]}}""",
        """{"event":"workers","data":{"workers":[{"name":"alice","status":"running","node":"akka.tcp://yoi@127.0.0.1:4053","shard_id":"12","children":[],"entries":14},{"name":"bob","status":"passive","children":[]},{"name":"carol","status":"unknown","node":"akka.tcp://yoi@127.0.0.1:4054","shard_id":"3","children":[],"error":"did not answer within 5s"}],"failed":[]}}""",
        """{"event":"worker_inspection","data":{"name":"alice","status":"paused","node":"akka.tcp://yoi@127.0.0.1:4053","session_id":"0192f0e8-4d84-7d6e-a000-000000000001","segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","entries":9,"turn_count":2,"notify_pending":1,"clients":0,"children":[],"loans":[],"manifest":{"name":"alice","model":{"scheme":"scripted","api_key_env":"OPENAI_API_KEY"}},"previous_segments":[]}}""",
        """{"event":"worker_inspection","data":{"name":"bob","status":"idle","node":"akka.tcp://yoi@127.0.0.1:4053","session_id":"0192f0e8-4d84-7d6e-a000-000000000001","segment_id":"0192f0e8-4d84-7d6e-a000-00000000000c","entries":5,"turn_count":7,"notify_pending":0,"clients":1,"children":["bob/c"],"loans":[],"manifest":{"name":"bob"},"previous_segments":[{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000a","entries":30,"rotated_at":1764000000000},{"segment_id":"0192f0e8-4d84-7d6e-a000-00000000000b","entries":12,"rotated_at":1764000100000}]}}""",
        """{"event":"restore_result","data":{"worker":"alice","action":"restored","status":"idle","node":"akka.tcp://yoi@127.0.0.1:4053"}}""",
        """{"event":"health","data":{"ready":true,"checks":[{"name":"akka.cluster.join","status":"healthy","description":"joined"},{"name":"journal","status":"healthy","description":"journal answered"}]}}""",
        """{"event":"health","data":{"ready":false,"checks":[{"name":"journal","status":"unhealthy","description":"journal unreachable: Timeout after 5.00 seconds"},{"name":"worker-region","status":"healthy"}]}}""",
    };

    [Theory]
    [MemberData(nameof(HostMethods))]
    public void Host_methods_round_trip_byte_identical(string line)
    {
        var method = Method.Decode(line);
        Assert.IsAssignableFrom<IHostMethod>(method);
        Assert.Equal(line, method.Encode());
    }

    [Theory]
    [MemberData(nameof(HostEvents))]
    public void Host_replies_round_trip_byte_identical(string line)
    {
        Assert.Equal(line, Wire.ReencodeEvent(line));
    }

    [Fact]
    public void Host_methods_decode_to_their_records()
    {
        Assert.Equal(new InspectMethod("alice"), Method.Decode("""{"method":"inspect","params":{"worker":"alice"}}"""));
        Assert.Equal(new ClusterLeaveMethod("akka.tcp://yoi@h:1"), Method.Decode("""{"method":"cluster_leave","params":{"address":"akka.tcp://yoi@h:1"}}"""));
        Assert.IsType<WorkersMethod>(Method.Decode("""{"method":"workers","params":{}}"""));
        Assert.IsAssignableFrom<IHostMethod>(Assert.IsType<HealthMethod>(Method.Decode("""{"method":"health"}""")));
        var health = Assert.IsType<HealthEvent>(Event.Decode("""{"event":"health","data":{"ready":false,"checks":[{"name":"journal","status":"unhealthy","description":"down"}]}}"""));
        Assert.False(health.Ready);
        Assert.Equal(new HealthCheckInfo("journal", "unhealthy", "down"), Assert.Single(health.Checks));
        Assert.IsNotAssignableFrom<IHostMethod>(Method.Decode("""{"method":"list_workers"}"""));
        Assert.IsNotAssignableFrom<IHostMethod>(Method.Decode("""{"method":"attach","params":{"worker":"a"}}"""));
    }

    [Fact]
    public void A_host_method_missing_its_parameter_is_an_invalid_method()
    {
        var e = Assert.Throws<JsonException>(() => Method.Decode("""{"method":"inspect","params":{}}"""));
        Assert.Contains("inspect", e.Message);
        Assert.Throws<JsonException>(() => Method.Decode("""{"method":"cluster_down"}"""));
    }
}
