namespace Yoi.Actors.Host.Http;

/// <summary>`yoi serve --http HOST:PORT`: the node's HTTP server (health, metrics; the HTTP API builds on it).
/// <c>Token</c> ($YOI_TOKEN) guards every route but the health probes; TLS uses the TCP endpoint's certificate options
/// (`--tls-cert`, `--tls-key`, PEM).</summary>
public sealed record HttpServerOptions(string Listen, string? Token = null, string? TlsCertPath = null, string? TlsKeyPath = null)
{
    public bool Tls => TlsCertPath is not null;
}
