namespace Yoi.Host.Tests.Infrastructure;

/// <summary>One `yoi serve` shared by a test class (tests use distinct Worker names).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public TempDir Dir { get; } = new("yoi-ep");
    public YoiServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await YoiServer.StartAsync(Dir.Path);

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        Dir.Dispose();
    }
}
