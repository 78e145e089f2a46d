using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Yoi.Messages;

namespace Yoi.Actors.Hosting;

/// <summary>Whether this node may serve clients now: its membership is confirmed. The endpoint holds client requests
/// while the gate is closed (and refuses them if it stays closed). Open means all of:
/// <list type="bullet">
/// <item>this node is Up and not downed or removed;</item>
/// <item>it reaches a majority of the members (counting itself): the minority side of a partition serves nobody;</item>
/// <item>no freeze is pending confirmation: when the node notices it did not run for a while (SIGSTOP, a VM pause, a
/// stop-the-world), it asks the other members whether they still see it Up and reachable, and opens again only when
/// a majority says yes. A node the others downed meanwhile gets no answer (they quarantined it) and stays closed
/// until it learns it was downed and exits;</item>
/// <item>the gate's own heartbeat is fresh, so a request read in the first instant after a freeze — before the gate
/// noticed the freeze — still finds it closed.</item>
/// </list>
/// The writer fence (<see cref="WriterFence"/>) is what makes a superseded Worker harmless; this gate keeps a node
/// that may be superseded from answering clients at all.</summary>
public sealed class MembershipGate : IExtension
{
    /// <summary>A pause longer than this (the gate's ticks are 250 ms apart) is treated as a freeze. Shorter than the
    /// failure detector's acceptable pause (2.5 s in hocon/cluster.hocon): a pause nobody could have noticed needs no
    /// confirmation.</summary>
    public static readonly TimeSpan FreezeThreshold = TimeSpan.FromSeconds(2);

    private volatile bool _open;
    private volatile string _reason = "starting: not yet a cluster member";
    private long _lastTick = Stopwatch.GetTimestamp();

    public static MembershipGate Get(ActorSystem system) => system.WithExtension<MembershipGate, MembershipGateId>();

    public bool IsOpen => _open && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastTick)) < FreezeThreshold;

    /// <summary>The gate actor's last verdict on membership (Up, majority reachable, confirmed after a freeze),
    /// without the freeze guard of <see cref="IsOpen"/>: what readiness reports, so that a timer tick delayed by load
    /// does not flip a load balancer's view of the node.</summary>
    public bool MembershipConfirmed => _open;

    /// <summary>Why the gate is closed (for the client's error and the log).</summary>
    public string Reason => !_open ? _reason : IsOpen ? "" : "this node was paused (frozen); confirming its membership";

    internal void Tick() => Interlocked.Exchange(ref _lastTick, Stopwatch.GetTimestamp());

    internal TimeSpan SinceTick => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastTick));

    internal void Set(bool open, string reason)
    {
        _reason = reason;
        _open = open;
    }
}

public sealed class MembershipGateId : ExtensionIdProvider<MembershipGate>
{
    public override MembershipGate CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Asks a member whether it sees the sender's incarnation Up and reachable.</summary>
public sealed record ConfirmMembership(string Address, long Uid, int Round) : IYoiMessage;

public sealed record MembershipConfirmed(string From, int Round, bool Confirmed) : IYoiMessage;

/// <summary>Keeps <see cref="MembershipGate"/> up to date, registers this node's incarnation with its writer token,
/// and records in the database every member it sees downed or removed (so a removed incarnation can neither claim a
/// Worker nor take the resolver's lease).</summary>
public sealed class MembershipGateActor : ReceiveActor, IWithTimers
{
    public const string Name = "yoi-gate";

    private sealed record Tick;
    private sealed record Registered(Exception? Error);

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly MembershipGate _gate = MembershipGate.Get(Context.System);
    private readonly WriterFence? _fence;
    private readonly HashSet<string> _confirmations = [];
    private bool _suspect;
    private bool _removed;
    private bool _registered;
    private bool _wasOpen;
    private int _round;
    private long _lastRound;
    private long _lastRegister = Stopwatch.GetTimestamp();

    public MembershipGateActor(WriterFence? fence)
    {
        _fence = fence;
        Receive<Tick>(_ => OnTick());
        Receive<ClusterEvent.CurrentClusterState>(_ => Update());
        Receive<ClusterEvent.IMemberEvent>(OnMember);
        Receive<ClusterEvent.IReachabilityEvent>(_ => Update());
        Receive<ClusterEvent.IClusterDomainEvent>(_ => Update());
        Receive<Registered>(r =>
        {
            if (r.Error is null) _registered = true;
            else _log.Warning("could not register this node's incarnation (retrying): {0}", r.Error.Message);
        });
        Receive<ConfirmMembership>(OnConfirmRequest);
        Receive<MembershipConfirmed>(OnConfirmed);
    }

    public static Props Props(WriterFence? fence) => Akka.Actor.Props.Create(() => new MembershipGateActor(fence));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer("tick", new Tick(), TimeSpan.FromMilliseconds(250));
        Register();
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        _gate.Set(false, "this node is shutting down");
    }

    private void Register()
    {
        if (_fence is null) { _registered = true; return; }
        var self = _cluster.SelfUniqueAddress;
        _fence.RegisterAsync(self.Address.ToString(), self.Uid, CancellationToken.None)
            .ContinueWith(t => new Registered(t.Exception?.GetBaseException())).PipeTo(Self);
    }

    private void OnTick()
    {
        var gap = _gate.SinceTick;
        _gate.Tick();
        if (gap > MembershipGate.FreezeThreshold && !_suspect && _cluster.State.Members.Count > 1)
        {
            _suspect = true;
            _confirmations.Clear();
            _lastRound = 0;
            _log.Warning("this node did not run for {0:F1} s (frozen?): serving no client until the other members confirm it", gap.TotalSeconds);
        }
        if (!_registered && Stopwatch.GetElapsedTime(_lastRegister) > TimeSpan.FromSeconds(2))
        {
            _lastRegister = Stopwatch.GetTimestamp();
            Register();
        }
        if (_suspect && Stopwatch.GetElapsedTime(_lastRound) > TimeSpan.FromSeconds(1)) AskForConfirmation();
        Update();
    }

    private void AskForConfirmation()
    {
        _lastRound = Stopwatch.GetTimestamp();
        _round++;
        _confirmations.Clear();
        var self = _cluster.SelfUniqueAddress;
        foreach (var m in _cluster.State.Members)
        {
            if (m.UniqueAddress.Equals(self) || m.Status is not (MemberStatus.Up or MemberStatus.Leaving)) continue;
            Context.ActorSelection(new RootActorPath(m.Address) / "user" / Name)
                .Tell(new ConfirmMembership(self.Address.ToString(), self.Uid, _round));
        }
    }

    private void OnConfirmRequest(ConfirmMembership c)
    {
        var state = _cluster.State;
        var member = state.Members.FirstOrDefault(m => m.Address.ToString() == c.Address && m.UniqueAddress.Uid == c.Uid);
        var ok = _cluster.SelfMember.Status == MemberStatus.Up && member is { Status: MemberStatus.Up or MemberStatus.Leaving }
                 && !state.Unreachable.Contains(member);
        Sender.Tell(new MembershipConfirmed(_cluster.SelfAddress.ToString(), c.Round, ok));
    }

    private void OnConfirmed(MembershipConfirmed c)
    {
        if (!_suspect || c.Round != _round || !c.Confirmed) return;
        _confirmations.Add(c.From);
        var members = Voters();
        if ((_confirmations.Count + 1) * 2 > members)
        {
            _suspect = false;
            _log.Info("membership confirmed by {0} of {1} members after a freeze: serving clients again", _confirmations.Count + 1, members);
            Update();
        }
    }

    private void OnMember(ClusterEvent.IMemberEvent e)
    {
        var m = e.Member;
        if (m.Status is MemberStatus.Down or MemberStatus.Removed || e is ClusterEvent.MemberRemoved)
        {
            if (m.UniqueAddress.Equals(_cluster.SelfUniqueAddress))
            {
                _removed = true;
                _log.Warning("this node was {0} by the cluster: serving no client", m.Status == MemberStatus.Down ? "downed" : "removed");
            }
            // Only a downed incarnation is recorded as removed (it may be a zombie). A graceful leave (Exiting → Removed)
            // is not: the leaving node still recovers entities while it hands its shards off, and refusing those
            // claims stalled the hand-off (ClusterTests.Graceful_leave…); its successors' claims fence it anyway.
            var downed = m.Status == MemberStatus.Down || e is ClusterEvent.MemberRemoved { PreviousStatus: MemberStatus.Down };
            if (downed)
                _fence?.MarkRemovedAsync(m.Address.ToString(), m.UniqueAddress.Uid, CancellationToken.None).ContinueWith(t =>
                {
                    if (t.IsFaulted) _log.Warning("could not record that {0} was removed: {1}", m.UniqueAddress, t.Exception?.GetBaseException().Message);
                });
        }
        Update();
    }

    private int Voters() => _cluster.State.Members.Count(m => m.Status is MemberStatus.Up or MemberStatus.Leaving);

    private void Update()
    {
        var state = _cluster.State;
        var self = _cluster.SelfMember;
        var voters = state.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving).ToList();
        var reachable = voters.Count(m => !state.Unreachable.Contains(m));
        var (open, reason) =
            _removed || self.Status is MemberStatus.Down or MemberStatus.Removed or MemberStatus.Exiting
                ? (false, "this node was removed from the cluster (downed or leaving)")
            : self.Status != MemberStatus.Up ? (false, $"this node is {self.Status}, not yet Up in the cluster")
            : reachable * 2 <= voters.Count ? (false, $"this node reaches {reachable} of {voters.Count} members (minority side of a partition)")
            : _suspect ? (false, "this node was paused (frozen); waiting for the other members to confirm it")
            : (true, "");
        if (open != _wasOpen)
        {
            if (open) _log.Info("membership confirmed: serving clients");
            else _log.Warning("serving no client: {0}", reason);
        }
        _wasOpen = open;
        _gate.Set(open, reason);
    }
}
