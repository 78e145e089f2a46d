using System.Net;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>Admission control over all of a node's listeners: at most <see cref="EndpointLimits.MaxConnections"/>
/// open connections, and at most <see cref="EndpointLimits.MaxUnauthenticatedPerAddress"/> not-yet-authenticated
/// ones per remote address. No actor: a lock around two counters, tested on its own.</summary>
public sealed class ConnectionGate(EndpointLimits limits)
{
    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, int> _unauthenticated = new();
    private int _open;

    public int Open { get { lock (_lock) return _open; } }

    /// <summary>Admits a connection, or returns null with the reason sent to the refused peer.
    /// <paramref name="address"/> is null for a connection that is authenticated by construction (Unix socket).</summary>
    public Admission? TryAdmit(IPAddress? address, out string refusal)
    {
        address = Normalize(address);
        lock (_lock)
        {
            if (_open >= limits.MaxConnections)
            {
                refusal = $"too many connections: the node accepts at most {limits.MaxConnections}";
                return null;
            }
            if (address is not null)
            {
                var count = _unauthenticated.GetValueOrDefault(address);
                if (count >= limits.MaxUnauthenticatedPerAddress)
                {
                    refusal = $"too many unauthenticated connections from {address}: at most {limits.MaxUnauthenticatedPerAddress}";
                    return null;
                }
                _unauthenticated[address] = count + 1;
            }
            _open++;
            refusal = "";
            return new Admission(this, address);
        }
    }

    private void Authenticated(Admission admission)
    {
        lock (_lock)
        {
            if (admission.Address is not { } a || admission.IsAuthenticated || admission.IsReleased) return;
            admission.IsAuthenticated = true;
            Decrement(a);
        }
    }

    private void Release(Admission admission)
    {
        lock (_lock)
        {
            if (admission.IsReleased) return;
            admission.IsReleased = true;
            _open--;
            if (admission.Address is { } a && !admission.IsAuthenticated) Decrement(a);
        }
    }

    private void Decrement(IPAddress a)
    {
        if (_unauthenticated[a] <= 1) _unauthenticated.Remove(a);
        else _unauthenticated[a]--;
    }

    private static IPAddress? Normalize(IPAddress? a) => a is { IsIPv4MappedToIPv6: true } ? a.MapToIPv4() : a;

    /// <summary>One admitted connection's slot. Idempotent: authenticate once, release once.</summary>
    public sealed class Admission : IDisposable
    {
        private readonly ConnectionGate _gate;

        internal Admission(ConnectionGate gate, IPAddress? address)
        {
            _gate = gate;
            Address = address;
        }

        internal IPAddress? Address { get; }
        internal bool IsAuthenticated { get; set; }
        internal bool IsReleased { get; set; }

        /// <summary>The peer proved itself (valid `hello`): it no longer counts against its address.</summary>
        public void MarkAuthenticated() => _gate.Authenticated(this);

        public void Dispose() => _gate.Release(this);
    }
}
