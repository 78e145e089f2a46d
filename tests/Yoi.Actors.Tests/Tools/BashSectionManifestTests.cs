using Yoi.Actors.Manifest;

namespace Yoi.Actors.Tests.Tools;

/// <summary>`[tools.bash] sandbox`, `network`, `bwrap`: defaults, values, clear errors, and the journaled round trip.</summary>
public sealed class BashSectionManifestTests
{
    private const string Model = "[model]\nscheme = \"scripted\"\nscript = \"x.json\"\n";

    [Fact]
    public void Absent_means_auto_without_network()
    {
        var m = ManifestLoader.Parse(Model, "/tmp");
        Assert.Null(m.Tools);
        Assert.Equal(new BashSection(BashSandboxMode.Auto, false, null), m.Tools?.Bash ?? BashSection.Default);
    }

    [Fact]
    public void Values_parse_and_survive_the_journal_round_trip()
    {
        var m = ManifestLoader.Parse(Model + "[tools.bash]\nsandbox = \"required\"\nnetwork = true\nbwrap = \"/opt/bwrap\"\n", "/tmp");
        Assert.Equal(new BashSection(BashSandboxMode.Required, true, "/opt/bwrap"), m.Tools!.Bash);
        Assert.Equal(m.Tools.Bash, WorkerManifest.FromJson(m.ToJson()).Tools!.Bash);
    }

    [Theory]
    [InlineData("[tools.bash]\nsandbox = \"maybe\"\n", "tools.bash.sandbox must be \"auto\", \"required\" or \"off\"")]
    [InlineData("[tools.bash]\nnetwork = \"yes\"\n", "tools.bash.network")]
    [InlineData("[tools.bash]\nbwrap = \"bwrap\"\n", "tools.bash.bwrap must be an absolute path")]
    [InlineData("[tools.bash]\nsandbx = \"off\"\n", "tools.bash.sandbx is not a known key")]
    [InlineData("[tools.grep]\nx = 1\n", "tools.grep is not a known key")]
    public void Bad_values_are_refused_naming_the_key(string toml, string message)
    {
        var e = Assert.Throws<ManifestException>(() => ManifestLoader.Parse(Model + toml, "/tmp"));
        Assert.Contains(message, e.Message);
    }
}
