using System.Reflection;

namespace Yoi.Actors.Worker;

/// <summary>The Worker's handler tables, one per Become-state, built once per process and shared by every Worker.
/// <c>ReceivePersistentActor.Become(Action)</c> rebuilt the whole table (every handler delegate and its compiled
/// matcher, ≈ 10 KB) on each state change, twice per turn; tables per incarnation still cost every idle Worker ≈ 5 KB of
/// delegates. The state methods still list what they accept with <c>Command&lt;T&gt;</c> (first match wins); the first
/// Worker to enter a state runs its state method once, and each handler it registers — a lambda or method group of this
/// class, bound to that Worker — is turned into an open delegate taking the Worker as its first argument
/// (<see cref="Open{T}"/>), so the table holds no Worker. A handler that captures anything but the Worker is refused when
/// the table is built (the state-table and compaction tests enter every state). The handlers every state accepts are
/// one table, included by the others.</summary>
public sealed partial class WorkerActor
{
    private static Handlers? s_recoverHandlers, s_commonHandlers, s_idleHandlers, s_runningHandlers, s_pausedHandlers, s_compactingHandlers;
    private static readonly Handlers NoHandlers = new(); // until recovery completes (Akka stashes commands until then)
    private Handlers _commandHandlers = NoHandlers;
    private Handlers? _building;

    protected override void OnCommand(object message)
    {
        if (!_commandHandlers.Handle(this, message)) Unhandled(message);
    }

    protected override void OnRecover(object message)
    {
        if (!(s_recoverHandlers ?? Shared(ref s_recoverHandlers, Recovering)).Handle(this, message)) Unhandled(message);
    }

    /// <summary>Registers a command handler in the state table being built (only from a state method).</summary>
    private void Command<T>(Action<T> handle, Predicate<T>? when = null) => Building().Add(new Handler<T>(Open(handle), when is null ? null : Open(when)));

    /// <summary>Registers a recovery handler (only from <see cref="Recovering"/>).</summary>
    private void Recover<T>(Action<T> handle) => Building().Add(new Handler<T>(Open(handle), null));

    private Handlers Building() => _building ?? throw new InvalidOperationException("handlers are only registered from a state method");

    private void Become(Handlers state) => _commandHandlers = state;

    /// <summary>The process-wide table of a state, built by this Worker on first use (two Workers racing build equal tables;
    /// one wins). Callers test the field first: the method group of <paramref name="state"/> is a new delegate each time.</summary>
    private Handlers Shared(ref Handlers? table, Action state)
    {
        Interlocked.CompareExchange(ref table, Build(state), null);
        return table;
    }

    /// <summary>Runs a state method once, collecting the handlers it registers.</summary>
    private Handlers Build(Action state)
    {
        var outer = _building;
        var table = _building = new Handlers();
        try
        {
            state();
        }
        finally
        {
            _building = outer;
        }
        return table;
    }

    /// <summary>In a state method: the handlers accepted in every state, at this position of the table.</summary>
    private void CommonCommands() => Building().Add(new Include(s_commonHandlers ?? Shared(ref s_commonHandlers, EveryStateCommands)));

    private static Action<WorkerActor, T> Open<T>(Action<T> handle) => Open<Action<WorkerActor, T>>(handle, d => (_, m) => ((Action<T>)d)(m));

    private static Func<WorkerActor, T, bool> Open<T>(Predicate<T> when) => Open<Func<WorkerActor, T, bool>>(when, d => (_, m) => ((Predicate<T>)d)(m));

    /// <summary>A delegate bound to a Worker (a method of this class, or a lambda that uses only <c>this</c>, which the
    /// compiler makes an instance method) becomes the same method taking the Worker as an argument; a lambda that captures
    /// nothing is kept as it is.</summary>
    private static TOpen Open<TOpen>(Delegate bound, Func<Delegate, TOpen> keep) where TOpen : Delegate => bound.Target switch
    {
        WorkerActor => bound.Method.CreateDelegate<TOpen>(),
        { } target when target.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length == 0 => keep(bound),
        null => keep(bound),
        { } target => throw new InvalidOperationException(
            $"a Worker handler ({bound.Method.Name}) may use only the Worker, not the state of {target.GetType().Name}: the tables are shared"),
    };

    private sealed class Handlers
    {
        private readonly List<Handler> _handlers = [];

        public void Add(Handler handler) => _handlers.Add(handler);

        public bool Handle(WorkerActor self, object message)
        {
            foreach (var handler in _handlers)
                if (handler.TryHandle(self, message))
                    return true;
            return false;
        }
    }

    private abstract class Handler
    {
        public abstract bool TryHandle(WorkerActor self, object message);
    }

    private sealed class Handler<T>(Action<WorkerActor, T> handle, Func<WorkerActor, T, bool>? when) : Handler
    {
        public override bool TryHandle(WorkerActor self, object message)
        {
            if (message is not T m || (when is not null && !when(self, m))) return false;
            handle(self, m);
            return true;
        }
    }

    /// <summary>A shared table as one entry of another.</summary>
    private sealed class Include(Handlers table) : Handler
    {
        public override bool TryHandle(WorkerActor self, object message) => table.Handle(self, message);
    }
}
