namespace Yoi.Actors.Host.Endpoint;

/// <summary>The limits every client-facing listener of a node enforces (the JSON Lines endpoint today; any endpoint
/// added later, e.g. HTTP, reuses the same record and <see cref="ConnectionGate"/>).</summary>
public sealed record EndpointLimits
{
    public const int DefaultMaxLineBytes = 32 * 1024 * 1024;
    public const int DefaultMaxHelloLineBytes = 64 * 1024;

    /// <summary>Longest line accepted once a connection is authenticated (Unix socket, or TCP after `hello`).</summary>
    public int MaxLineBytes { get; init; } = DefaultMaxLineBytes;

    /// <summary>Longest line accepted before `hello` on TCP: an anonymous peer may not make the node buffer more.</summary>
    public int MaxHelloLineBytes { get; init; } = DefaultMaxHelloLineBytes;

    /// <summary>A TCP connection (TLS handshake included) must send a valid `hello` within this time.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Open connections per node, over all endpoints.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>Connections per remote address that have not (yet) authenticated.</summary>
    public int MaxUnauthenticatedPerAddress { get; init; } = 64;

    /// <summary>The limit in force for the next line of a connection.</summary>
    public int LineLimit(bool authenticated) => authenticated ? MaxLineBytes : Math.Min(MaxHelloLineBytes, MaxLineBytes);

    /// <summary>null when the limits are usable, else what is wrong (for a usage error).</summary>
    public string? Validate() =>
        MaxLineBytes < 1024 ? "--max-line-bytes must be at least 1024"
        : HelloTimeout <= TimeSpan.Zero ? "--hello-timeout must be positive"
        : MaxConnections < 1 ? "--max-connections must be at least 1"
        : MaxUnauthenticatedPerAddress < 1 ? "--max-unauthenticated-per-address must be at least 1"
        : null;

    public static string LineTooLong(int limit) => $"line exceeds {limit} bytes";
}
