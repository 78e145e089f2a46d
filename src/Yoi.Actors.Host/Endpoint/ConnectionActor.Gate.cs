using Akka.Actor;
using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>The membership gate on client requests (<see cref="MembershipGate"/>): while this node's membership is
/// unconfirmed (starting, minority side of a partition, just thawed from a freeze, downed), requests wait in arrival
/// order; if the gate stays closed for <see cref="GateHoldLimit"/> the client gets an error and the connection closes,
/// so it can go to another node. Nothing reaches a Worker on a node whose membership is unconfirmed.</summary>
public sealed partial class ConnectionActor : IWithTimers
{
    /// <summary>The gate re-check timer: cancelled with the actor, unlike a scheduler tell (Akka analyzer AK1004).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    public static readonly TimeSpan GateHoldLimit = TimeSpan.FromSeconds(15);

    private sealed class GateCheck
    {
        public static readonly GateCheck Instance = new();
        private GateCheck() { }
    }

    private readonly Queue<Action> _held = new();
    private DateTime _heldSince;

    private void WhenGateOpen(Action handle)
    {
        if (_closing) return;
        if (_held.Count == 0 && MembershipGate.Get(Context.System).IsOpen)
        {
            handle();
            return;
        }
        if (_held.Count == 0)
        {
            _heldSince = DateTime.UtcNow;
            Timers.StartSingleTimer("gate-check", GateCheck.Instance, TimeSpan.FromMilliseconds(100));
        }
        _held.Enqueue(handle);
    }

    private void ReleaseHeld()
    {
        if (_held.Count == 0 || _closing) return;
        var gate = MembershipGate.Get(Context.System);
        if (gate.IsOpen)
        {
            while (_held.Count > 0) _held.Dequeue()();
            return;
        }
        if (DateTime.UtcNow - _heldSince > GateHoldLimit)
        {
            _held.Clear();
            _connection.Send(Wire.Error(ErrorCode.Internal, $"this node is not serving: {gate.Reason}; try another node"));
            _closing = true;
            _connection.CompleteAttach(false);
            _connection.CloseAfterFlush();
            return;
        }
        Timers.StartSingleTimer("gate-check", GateCheck.Instance, TimeSpan.FromMilliseconds(100));
    }
}
