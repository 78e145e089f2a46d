using System.Text.Json;
using Yoi.Actors.Delegation;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Delegation;

/// <summary>Discovery's decisions without a node (<see cref="Discovery"/>), over a registry folded from journal events.</summary>
public sealed class DiscoveryTests
{
    private static readonly WorkerName Alice = new("alice");
    private static readonly ScopeRule Loan = new("/w/src", Permission.Write);

    private static DelegationState Registry()
    {
        var r = new DelegationState();
        r.Apply(new ChildSpawned(1, "alice/c1", [Loan]));
        r.Apply(new ChildSpawned(2, "alice/c2", [new ScopeRule("/w/doc", Permission.Read, false)]));
        r.Apply(new SubDelegationRecorded(3, "alice/c1", "alice/c1/d1", [Loan]));
        r.Apply(new PeerAdded(4, "bob"));
        r.Apply(new ChildSpawned(5, "alice/gone", [Loan]));
        r.Apply(new ChildRemoved(6, "alice/gone", "stopped"));
        return r;
    }

    private static bool OnlyC1Alive(string full) => full == "alice/c1";

    [Fact]
    public void The_listing_has_self_children_descendants_and_peers_in_name_order_in_the_reference_shape()
    {
        var session = Guid.Parse("0190a1b2-0000-7000-8000-000000000001");
        var segment = Guid.Parse("0190a1b2-0000-7000-8000-000000000002");
        var list = Discovery.VisibleWorkers(Alice, session, segment, "idle", Registry(), OnlyC1Alive);

        Assert.Equal(["alice", "bob", "c1", "c1/d1", "c2"], list.Select(w => w.Name));
        Assert.Equal(
            """{"worker_name":"alice","visibility":"self_worker","state":"readable","active":{"session_id":"0190a1b2-0000-7000-8000-000000000001","segment_id":"0190a1b2-0000-7000-8000-000000000002"},"live":{"socket_path":"alice","reachable":true,"status":"idle"},"restore":{"possible":false,"reason":"already live"},"comm_registry":{"registered":false},"spawned_children":{"count":2,"reachable":1,"unreachable":1}}""",
            JsonSerializer.Serialize(list[0]));
        Assert.Equal(
            """{"worker_name":"c2","full_name":"alice/c2","visibility":"spawned_child","state":"readable","live":{"socket_path":"alice/c2","reachable":false},"restore":{"possible":true},"comm_registry":{"registered":true,"socket_path":"alice/c2","scope_delegated":[{"target":"/w/doc","permission":"read","recursive":false}]}}""",
            JsonSerializer.Serialize(list[4]));
        Assert.Equal(
            """{"worker_name":"c1/d1","full_name":"alice/c1/d1","visibility":"spawned_child","state":"readable","live":{"socket_path":"alice/c1/d1","reachable":true},"restore":{"possible":false},"comm_registry":{"registered":true,"socket_path":"alice/c1/d1","callback_address":"alice/c1","scope_delegated":[{"target":"/w/src","permission":"write","recursive":true}]}}""",
            JsonSerializer.Serialize(list[3]));
        Assert.Equal(
            """{"worker_name":"bob","visibility":"peer","state":"readable","live":{"socket_path":"bob","reachable":true},"restore":{"possible":true},"comm_registry":{"registered":false}}""",
            JsonSerializer.Serialize(list[1]));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("c1")]
    [InlineData("c1/d1")]
    public void Self_a_live_child_and_a_descendant_are_already_live(string name)
    {
        var d = Assert.IsType<RestoreDecision.AlreadyLive>(Discovery.Restore(name, Alice, "idle", Registry(), OnlyC1Alive));
        Assert.Equal("already_live", d.Result.Action);
        Assert.Equal($"worker `{name}` is already live", d.Summary);
    }

    [Fact]
    public void Restoring_self_reports_its_full_name_and_status()
    {
        var d = Assert.IsType<RestoreDecision.AlreadyLive>(Discovery.Restore("alice", Alice, "paused", Registry(), OnlyC1Alive));
        Assert.Equal("""{"action":"already_live","worker_name":"alice","socket_path":"alice","status":"paused"}""", JsonSerializer.Serialize(d.Result));
    }

    [Fact]
    public void A_registered_child_whose_actor_is_gone_is_recreated()
    {
        var d = Assert.IsType<RestoreDecision.RecreateChild>(Discovery.Restore("c2", Alice, "idle", Registry(), OnlyC1Alive));
        Assert.Equal("alice/c2", d.Child);
        Assert.Equal("""{"action":"restored","worker_name":"c2","socket_path":"alice/c2"}""", JsonSerializer.Serialize(d.Result));
    }

    [Fact]
    public void A_peer_is_woken()
    {
        var d = Assert.IsType<RestoreDecision.WakePeer>(Discovery.Restore("bob", Alice, "idle", Registry(), OnlyC1Alive));
        Assert.Equal("bob", d.Peer);
    }

    [Fact]
    public void A_reclaimed_child_is_no_longer_visible()
    {
        var d = Assert.IsType<RestoreDecision.Refused>(Discovery.Restore("gone", Alice, "idle", Registry(), OnlyC1Alive));
        Assert.Equal("worker `gone` is not visible to this Worker", d.Error.Message);
    }

    [Fact]
    public void An_invalid_name_has_no_state_and_a_valid_unknown_one_needs_the_existence_check()
    {
        var refused = Assert.IsType<RestoreDecision.Refused>(Discovery.Restore("no way", Alice, "idle", Registry(), OnlyC1Alive));
        Assert.Equal("worker state missing for `no way`", refused.Error.Message);
        Assert.Equal("carol", Assert.IsType<RestoreDecision.CheckExistence>(Discovery.Restore("carol", Alice, "idle", Registry(), OnlyC1Alive)).Name);
    }

    [Fact]
    public void A_descendant_resolves_by_its_path_below_or_its_full_name()
    {
        Assert.Equal("alice/c1/d1", Discovery.ResolveChild("c1/d1", Alice, Registry()).Value!.Name);
        Assert.Equal("alice/c1/d1", Discovery.ResolveChild("alice/c1/d1", Alice, Registry()).Value!.Name);
        Assert.Equal("no spawned worker named `gone`", Discovery.ResolveChild("gone", Alice, Registry()).Error!.Message);
    }

    [Theory]
    [InlineData("alice", "worker `alice` is visible as SelfWorker, not as a peer")]
    [InlineData("c1", "worker `c1` is visible as SpawnedChild, not as a peer")]
    [InlineData("carol", "worker `carol` is not visible to this Worker")]
    public void Only_a_registered_peer_takes_a_peer_message(string name, string message)
    {
        Assert.Null(Discovery.PeerMessageRefusal("bob", Alice, Registry()));
        Assert.Equal(message, Discovery.PeerMessageRefusal(name, Alice, Registry())!.Message);
    }

    [Fact]
    public void Only_write_rules_are_loans()
    {
        Assert.Equal(["""{"child":"alice/c1","target":"/w/src","permission":"write","recursive":true}"""],
            Discovery.Loans(Registry()).Select(l => JsonSerializer.Serialize(l)));
    }
}
