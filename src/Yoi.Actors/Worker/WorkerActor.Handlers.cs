namespace Yoi.Actors.Worker;

/// <summary>The Worker's handler tables. <c>ReceivePersistentActor.Become(Action)</c> rebuilt the whole table (every
/// handler delegate and its compiled matcher, ≈ 10 KB) on each state change, twice per turn; here each Become-state's
/// table is built once per incarnation, on its first use, and a state change only swaps the reference. The state
/// methods still list what they accept with <c>Command&lt;T&gt;</c> (first match wins, as before); the handlers every
/// state accepts are built once and shared by the four tables.</summary>
public sealed partial class WorkerActor
{
    private readonly Handlers _recoverHandlers = new();
    private Handlers _commandHandlers = new(); // empty until recovery completes (Akka stashes commands until then)
    private Handlers? _building;
    private Handlers? _commonHandlers, _idleHandlers, _runningHandlers, _pausedHandlers, _compactingHandlers;

    protected override void OnCommand(object message)
    {
        if (!_commandHandlers.Handle(message)) Unhandled(message);
    }

    protected override void OnRecover(object message)
    {
        if (!_recoverHandlers.Handle(message)) Unhandled(message);
    }

    /// <summary>Registers a command handler in the state table being built (only from a state method).</summary>
    private void Command<T>(Action<T> handle, Predicate<T>? when = null) =>
        (_building ?? throw new InvalidOperationException("Command<T> is only called from a state method")).Add(new Handler<T>(handle, when));

    private void Recover<T>(Action<T> handle) => _recoverHandlers.Add(new Handler<T>(handle, null));

    private void Become(Handlers state) => _commandHandlers = state;

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
    private void CommonCommands()
    {
        var common = _commonHandlers ??= Build(EveryStateCommands);
        _building!.Add(new Include(common));
    }

    private sealed class Handlers
    {
        private readonly List<Handler> _handlers = [];

        public void Add(Handler handler) => _handlers.Add(handler);

        public bool Handle(object message)
        {
            foreach (var handler in _handlers)
                if (handler.TryHandle(message))
                    return true;
            return false;
        }
    }

    private abstract class Handler
    {
        public abstract bool TryHandle(object message);
    }

    private sealed class Handler<T>(Action<T> handle, Predicate<T>? when) : Handler
    {
        public override bool TryHandle(object message)
        {
            if (message is not T m || (when is not null && !when(m))) return false;
            handle(m);
            return true;
        }
    }

    /// <summary>A shared table as one entry of another.</summary>
    private sealed class Include(Handlers table) : Handler
    {
        public override bool TryHandle(object message) => table.Handle(message);
    }
}
