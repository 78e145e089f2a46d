using Akka.Hosting;
using Akka.Serialization;
using Yoi.Actors.Delegation;
using Yoi.Actors.Hosting;
using Yoi.Actors.Worker;
using Yoi.Messages;
using Yoi.Messages.Json;

namespace Yoi.Actors.Tests.Telemetry;

/// <summary>The trace context crosses nodes in our own messages (Hyperion between nodes) and lives in the journal as an
/// optional, backward-compatible field of the invoke entry.</summary>
public sealed class TraceContextWireTests : Akka.Hosting.TestKit.TestKit
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => builder
        .WithCustomSerializer("yoi-hyperion", [typeof(IYoiMessage)], YoiHyperion.Create);

    private T RoundTrip<T>(T value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value!);
        Assert.IsType<HyperionSerializer>(serializer);
        return (T)Sys.Serialization.Deserialize(serializer.ToBinary(value!), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, value!));
    }

    [Fact]
    public void The_traceparent_of_a_run_or_tool_call_survives_the_wire_between_nodes()
    {
        var run = new WorkerEnvelope("peer", new ClientMethod(new NotifyMethod("hi", true)) { TraceParent = TraceParent });
        Assert.Equal(TraceParent, ((ClientMethod)RoundTrip(run).Message).TraceParent);
        var call = new StopWorkerRequest("child") { TraceParent = TraceParent };
        Assert.Equal(TraceParent, RoundTrip(call).TraceParent);
    }

    [Fact]
    public void The_invoke_entry_keeps_the_traceparent_only_when_set_and_old_entries_still_read()
    {
        LogEntry plain = new InvokeEntry(InvokeKind.UserSend) { Ts = 1 };
        Assert.Equal("""{"kind":"invoke","ts":1,"trigger":"user_send"}""", System.Text.Json.JsonSerializer.Serialize(plain, YoiJson.Options));
        LogEntry traced = new InvokeEntry(InvokeKind.UserSend) { Ts = 1, TraceParent = TraceParent };
        var json = System.Text.Json.JsonSerializer.Serialize(traced, YoiJson.Options);
        Assert.Contains($"\"traceparent\":\"{TraceParent}\"", json);
        Assert.Equal(TraceParent, ((InvokeEntry)System.Text.Json.JsonSerializer.Deserialize<LogEntry>(json, YoiJson.Options)!).TraceParent);
        Assert.Null(((InvokeEntry)System.Text.Json.JsonSerializer.Deserialize<LogEntry>("""{"kind":"invoke","ts":1,"trigger":"user_send"}""", YoiJson.Options)!).TraceParent);
    }
}
