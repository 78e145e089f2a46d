using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests;

/// <summary>A CA and certificates made in-process (CertificateRequest), written as PEM files.</summary>
public sealed class TestPki
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(Now.AddDays(-1), Now.AddYears(1));
    }

    /// <summary>Issues a leaf certificate (server: for 127.0.0.1 and localhost) and writes NAME.pem / NAME.key.</summary>
    public static (string Cert, string Key) Issue(X509Certificate2 ca, string dir, string name, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            new OidCollection { new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") }, false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var cert = request.Create(ca, Now.AddDays(-1), Now.AddDays(30), RandomNumberGenerator.GetBytes(16));
        var certPath = Path.Combine(dir, name + ".pem");
        var keyPath = Path.Combine(dir, name + ".key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    public static string WriteCa(X509Certificate2 ca, string dir, string name)
    {
        var path = Path.Combine(dir, name + ".pem");
        File.WriteAllText(path, ca.ExportCertificatePem());
        return path;
    }
}

/// <summary>Two TLS nodes: one with a server certificate, one that also requires client certificates (mutual TLS).</summary>
public sealed class TlsFixture : IAsyncLifetime
{
    public const string Token = "tls-token";

    public TempDir Dir { get; } = new("yoi-tls");
    public string CaPath { get; private set; } = "";
    public string OtherCaPath { get; private set; } = "";
    public (string Cert, string Key) Client { get; private set; }
    public (string Cert, string Key) StrangerClient { get; private set; }
    public YoiServer Tls { get; private set; } = null!;
    public YoiServer Mutual { get; private set; } = null!;
    public Dictionary<string, string> Env { get; } = new() { ["YOI_TOKEN"] = Token };

    public async ValueTask InitializeAsync()
    {
        var pki = Directory.CreateDirectory(Path.Combine(Dir.Path, "pki")).FullName;
        using var ca = TestPki.CreateCa("yoi test ca");
        using var clientCa = TestPki.CreateCa("yoi test client ca");
        using var other = TestPki.CreateCa("somebody else");
        CaPath = TestPki.WriteCa(ca, pki, "ca");
        OtherCaPath = TestPki.WriteCa(other, pki, "other-ca");
        var clientCaPath = TestPki.WriteCa(clientCa, pki, "client-ca");
        var server = TestPki.Issue(ca, pki, "node", server: true);
        Client = TestPki.Issue(clientCa, pki, "client", server: false);
        StrangerClient = TestPki.Issue(other, pki, "stranger", server: false);

        var tlsHome = Directory.CreateDirectory(Path.Combine(Dir.Path, "tls")).FullName;
        var mutualHome = Directory.CreateDirectory(Path.Combine(Dir.Path, "mutual")).FullName;
        var starting = new[]
        {
            YoiServer.StartAsync(tlsHome, Env, "--listen", "127.0.0.1:0", "--tls-cert", server.Cert, "--tls-key", server.Key),
            YoiServer.StartAsync(mutualHome, Env, "--listen", "127.0.0.1:0", "--tls-cert", server.Cert, "--tls-key", server.Key,
                "--tls-client-ca", clientCaPath),
        };
        var servers = await Task.WhenAll(starting);
        (Tls, Mutual) = (servers[0], servers[1]);
    }

    public async ValueTask DisposeAsync()
    {
        if (Tls is not null) await Tls.DisposeAsync();
        if (Mutual is not null) await Mutual.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>TLS on the TCP endpoint, through the real CLI (`--connect … --tls-ca`) and raw sockets.</summary>
public sealed class TlsTests(TlsFixture f) : IClassFixture<TlsFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    private Task<CliResult> ClusterShowAsync(YoiServer server, params string[] tlsArgs) =>
        YoiCli.RunAsync(CliTimeout, f.Dir.Path, f.Env,
            new[] { "cluster", "show", "--json", "--connect", server.TcpEndPoint! }.Concat(tlsArgs).ToArray());

    [Fact(Timeout = 120_000)]
    public async Task The_cli_connects_over_tls_when_the_node_certificate_is_issued_by_the_given_ca()
    {
        var result = await ClusterShowAsync(f.Tls, "--tls-ca", f.CaPath);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("members", result.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Yoi_health_connects_over_tls_and_refuses_a_node_certificate_from_another_ca()
    {
        string[] args = ["health", "--connect", f.Tls.TcpEndPoint!];
        // The fixture's node may still be joining when this runs first: ask until it is ready (or the deadline).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        CliResult ready;
        while ((ready = await YoiCli.RunAsync(CliTimeout, f.Dir.Path, f.Env, [.. args, "--tls-ca", f.CaPath])).ExitCode != 0
               && ready.Stdout.Contains("akka.cluster.join") && DateTime.UtcNow < deadline)
            await Task.Delay(500);
        Assert.True(ready.ExitCode == 0, ready.ToString());
        Assert.Contains("healthy   journal", ready.Stdout);

        var refused = await YoiCli.RunAsync(CliTimeout, f.Dir.Path, f.Env, [.. args, "--tls-ca", f.OtherCaPath]);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"not ready: cannot reach tls {f.Tls.TcpEndPoint}: tls handshake", refused.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_cli_refuses_a_node_certificate_from_another_ca()
    {
        var result = await ClusterShowAsync(f.Tls, "--tls-ca", f.OtherCaPath);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("tls handshake with", result.Stderr);
        Assert.DoesNotContain("members", result.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_plaintext_client_against_the_tls_endpoint_gets_nothing_and_is_closed()
    {
        await using var plain = await WireClient.ConnectTcpAsync(f.Tls.TcpEndPoint!);
        try { await plain.SendAsync(new Yoi.Messages.HelloMethod(TlsFixture.Token)); }
        catch (IOException) { /* closed already */ }

        Assert.Empty(await plain.ReadToEndAsync(TimeSpan.FromSeconds(20)));
        var after = await ClusterShowAsync(f.Tls, "--tls-ca", f.CaPath);
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Mutual_tls_admits_a_client_certificate_issued_by_the_client_ca()
    {
        var result = await ClusterShowAsync(f.Mutual, "--tls-ca", f.CaPath, "--tls-cert", f.Client.Cert, "--tls-key", f.Client.Key);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("members", result.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Mutual_tls_refuses_a_client_without_a_certificate()
    {
        var result = await ClusterShowAsync(f.Mutual, "--tls-ca", f.CaPath);

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("members", result.Stdout);
    }

    [Fact(Timeout = 120_000)]
    public async Task Mutual_tls_refuses_a_client_certificate_from_another_ca()
    {
        var result = await ClusterShowAsync(f.Mutual, "--tls-ca", f.CaPath, "--tls-cert", f.StrangerClient.Cert, "--tls-key", f.StrangerClient.Key);

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("members", result.Stdout);
    }
}
