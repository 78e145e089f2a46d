namespace Yoi.Actors.Tests.Providers;

/// <summary>Wire fixtures kept in this repository (<c>tests/Yoi.Actors.Tests/Providers/fixtures/</c>; the older
/// schemes' fixtures live in the shared folder <see cref="Fixtures"/> reads).</summary>
internal static class RepoFixtures
{
    public static string Root { get; } = Locate();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Yoi.Actors.sln")))
                return Path.Combine(dir.FullName, "tests", "Yoi.Actors.Tests", "Providers", "fixtures");
        throw new DirectoryNotFoundException("Yoi.Actors.sln not found above " + AppContext.BaseDirectory);
    }

    public static string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));

    /// <summary>An <c>.sse</c> file as a 200 stream; <c>error_NNN*.json</c> as that status.</summary>
    public static StubResponse Response(string relative, IReadOnlyDictionary<string, string>? headers = null)
    {
        var body = Read(relative);
        if (relative.EndsWith(".sse", StringComparison.Ordinal)) return new StubResponse.Sse(body);
        var status = int.Parse(Path.GetFileNameWithoutExtension(relative).Split('_')[1]);
        return new StubResponse.Error(status, body, headers);
    }
}
