using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>TLS for a node's TCP listener (`--tls-cert`, `--tls-key`, PEM; `--tls-client-ca` for mutual TLS).
/// Kept apart from the JSON Lines endpoint so another listener (HTTP) can load the same files the same way.</summary>
public sealed record TlsOptions(string CertificatePath, string KeyPath, string? ClientCaPath = null)
{
    /// <summary>Loads the files once at start: a missing or unreadable file is a start-up error, not a per-client one.</summary>
    public SslServerAuthenticationOptions LoadServer()
    {
        var certificate = LoadCertificate(CertificatePath, KeyPath, "--tls-cert/--tls-key");
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (ClientCaPath is { } caPath)
        {
            options.ClientCertificateRequired = true;
            // Only certificates issued by this CA are trusted, for client authentication (not the OS store).
            options.CertificateChainPolicy = TrustOnly(LoadCa(caPath, "--tls-client-ca"), clientAuth: true);
        }
        return options;
    }

    public static X509Certificate2 LoadCertificate(string certPath, string keyPath, string what)
    {
        try { return X509Certificate2.CreateFromPemFile(certPath, keyPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"{what}: cannot load {certPath} / {keyPath}: {e.Message}", e);
        }
    }

    public static X509Certificate2Collection LoadCa(string path, string what)
    {
        var ca = new X509Certificate2Collection();
        try { ca.ImportFromPemFile(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"{what}: cannot load {path}: {e.Message}", e);
        }
        if (ca.Count == 0) throw new InvalidOperationException($"{what}: no certificate in {path}");
        return ca;
    }

    /// <summary>A chain policy that trusts exactly <paramref name="roots"/> (no revocation servers: nodes run offline).</summary>
    public static X509ChainPolicy TrustOnly(X509Certificate2Collection roots, bool clientAuth)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        policy.ApplicationPolicy.Add(new Oid(clientAuth ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1"));
        return policy;
    }
}
