using System.Net;

namespace Yoi.Host.Tests.Http;

/// <summary>The dashboard's files come from the `yoi` assembly, without a token and without external resources;
/// the data behind them still needs the token.</summary>
public sealed class DashboardTests(HttpNode node) : IClassFixture<HttpNode>
{
    [Fact(Timeout = 60_000)]
    public async Task The_page_and_its_script_are_served_without_a_token_and_reference_nothing_external()
    {
        using var anonymous = node.Client(token: null);

        using var page = await anonymous.GetAsync("/");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/ui/app.js", html);
        Assert.DoesNotContain("http://", html.Replace("http://127.0.0.1", ""));
        Assert.DoesNotContain("https://", html);

        using var script = await anonymous.GetAsync("/ui/app.js");
        var js = await script.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("sessionStorage", js);
        Assert.Contains("Last-Event-ID", js);
        Assert.DoesNotContain("https://", js);

        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/missing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/..%2f..%2fappsettings.json")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/workers")).StatusCode);
    }
}
