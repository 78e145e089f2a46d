namespace Yoi.Actors.Providers;

/// <summary>What a provider client is built from (the manifest's <c>[model]</c> with the key already resolved).
/// <see cref="ApiKey"/> is a secret: it only ever goes into an HTTP header; its record form is redacted.
/// <see cref="Capability"/> null = the scheme's own defaults (no catalog entry, no <c>[model.capability]</c>).</summary>
public sealed record ProviderSettings(string Scheme, string Model, Uri BaseUrl, string? ApiKey = null, ModelCapability? Capability = null)
{
    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"{Scheme} {Model} @ {BaseUrl}{(ApiKey is null ? "" : " (key set)")}";

    public static Uri DefaultBaseUrl(string scheme) => scheme switch
    {
        "anthropic" => new Uri("https://api.anthropic.com"),
        "openai_chat" or "openai_responses" => new Uri("https://api.openai.com/v1"),
        "gemini" => new Uri("https://generativelanguage.googleapis.com"),
        _ => throw new ArgumentException($"no default base URL for scheme \"{scheme}\"", nameof(scheme)),
    };

    /// <summary><c>{base}/v1/{path}</c>, or <c>{base}/{path}</c> when the base already ends in a version segment
    /// (<c>/v1</c>, <c>/api/v1</c>, …) — so both <c>http://localhost:11434</c> and <c>http://localhost:11434/v1</c> work.</summary>
    public static Uri Versioned(Uri baseUrl, string path)
    {
        var b = baseUrl.ToString().TrimEnd('/');
        var last = b[(b.LastIndexOf('/') + 1)..];
        var versioned = last.Length >= 2 && last[0] == 'v' && last[1..].All(char.IsAsciiDigit);
        return new Uri(versioned ? $"{b}/{path}" : $"{b}/v1/{path}");
    }

    /// <summary><c>{base}/{path}</c> verbatim.</summary>
    public static Uri Join(Uri baseUrl, string path) => new($"{baseUrl.ToString().TrimEnd('/')}/{path}");
}
