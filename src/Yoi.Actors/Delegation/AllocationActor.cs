using Akka.Actor;
using Yoi.Messages;

namespace Yoi.Actors.Delegation;

/// <summary>Registry key of the per-node allocation actor.</summary>
public sealed class AllocationRegistry;

/// <summary>The write-allocation table of one node (reference-delegation §4.5, the machine-wide `workers.json`): which
/// child holds which delegated rules. No two Worker trees may hold overlapping Write scope: a spawn whose Write rule
/// overlaps an allocation that is neither the spawner nor one of its ancestors is refused, naming the deepest
/// competitor. Children live on their root's node, so the table is per node; it is rebuilt from the parents'
/// journaled loans when they recover.</summary>
public sealed class AllocationActor : ReceiveActor
{
    private readonly Dictionary<string, AllocationEntry> _entries = new(StringComparer.Ordinal);

    public AllocationActor()
    {
        Receive<ReserveAllocation>(r => r.Restore, r => _entries[r.Child] = new AllocationEntry(r.Child, r.Spawner, r.Rules));
        Receive<ReserveAllocation>(r => Sender.Tell(Reserve(r)));
        Receive<ReleaseAllocation>(r =>
        {
            foreach (var name in _entries.Keys.Where(n => n == r.Child || n.StartsWith(r.Child + "/", StringComparison.Ordinal)).ToList())
                _entries.Remove(name);
        });
        Receive<ListAllocations>(_ => Sender.Tell(new AllocationList(_entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToList())));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new AllocationActor());

    private AllocationReply Reserve(ReserveAllocation r)
    {
        if (_entries.ContainsKey(r.Child)) return new AllocationReply(false, $"worker `{r.Child}` is already allocated");
        foreach (var rule in r.Rules.Where(x => x.Permission == Permission.Write))
        {
            var competitor = _entries.Values
                .Where(e => !IsSelfOrAncestor(e.Name, r.Spawner))
                .Where(e => e.Rules.Any(w => w.Permission == Permission.Write && DelegationCheck.Overlaps(w, rule)))
                .OrderByDescending(e => e.Name.Count(c => c == '/'))
                .FirstOrDefault();
            if (competitor is not null)
                return new AllocationReply(false, $"requested child scope {rule.Target} Write conflicts with worker allocation `{competitor.Name}` rule `{competitor.Rules.First(w => w.Permission == Permission.Write && DelegationCheck.Overlaps(w, rule)).Target}`");
        }
        _entries[r.Child] = new AllocationEntry(r.Child, r.Spawner, r.Rules);
        return new AllocationReply(true);
    }

    private static bool IsSelfOrAncestor(string candidate, string spawner) =>
        candidate == spawner || spawner.StartsWith(candidate + "/", StringComparison.Ordinal);
}
