using System.Threading.Channels;
using Akka.Actor;

namespace Yoi.Actors.Delegation;

/// <summary>A short-lived client used by the delegation tools to talk to a child the way any client does (attach,
/// snapshot, run-and-confirm): whatever it receives is queued for the tool to read with timeouts.</summary>
public sealed class ProbeActor : ReceiveActor
{
    public ProbeActor(ChannelWriter<object> inbox) => ReceiveAny(m => inbox.TryWrite(m));

    public static Props Props(ChannelWriter<object> inbox) => Akka.Actor.Props.Create(typeof(ProbeActor), inbox); // not the expression form: it compiles a lambda per call
}
