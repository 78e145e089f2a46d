using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Yoi.Host.Tests.Infrastructure;

namespace Yoi.Host.Tests.Http;

/// <summary>Debian's chromium, headless, driven by Microsoft.Playwright (no browser download: ExecutablePath).</summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string Path = "/usr/bin/chromium";

    public IPlaywright? Playwright { get; private set; }
    public IBrowser? Browser { get; private set; }
    public string? Missing { get; private set; }

    /// <summary>Screenshots land here (kept as test artifacts: the test output's `artifacts/dashboard`).</summary>
    public static string ArtifactDir { get; } = Directory.CreateDirectory(
        System.IO.Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard")).FullName;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Path))
        {
            Missing = $"{Path} is not installed (`apt-get install chromium`; .ci/run installs it)";
            return;
        }
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
    }
}

/// <summary>The dashboard end to end in a real browser against a real `yoi serve --http` with `$YOI_TOKEN`: the token
/// prompt (session storage, never the URL), the node and the Worker on the overview, a run whose text streams in,
/// pause, resume, the finished run, and rewind. Screenshots are kept under the test output's `artifacts/dashboard`.</summary>
public sealed class DashboardBrowserTests(HttpNode node, Chromium chromium) : IClassFixture<HttpNode>, IClassFixture<Chromium>
{
    private const float Timeout = 30_000;

    /// <summary>Two text blocks 1.5 s apart, then a stream that never ends (so the run is still running when paused).</summary>
    private static string Unfinished() => new JsonObject
    {
        ["items"] = new JsonArray(
            new JsonObject { ["text"] = "Once upon" },
            new JsonObject { ["delay_ms"] = 1500 },
            new JsonObject { ["text"] = " a time" },
            new JsonObject { ["hang"] = true }),
    }.ToJsonString();

    /// <summary>After resume: the rest, slowly, then usage (the run finishes).</summary>
    private static string Ending() => new JsonObject
    {
        ["items"] = new JsonArray(
            new JsonObject { ["text"] = "and they lived" },
            new JsonObject { ["delay_ms"] = 1000 },
            new JsonObject { ["text"] = " happily ever after." },
            new JsonObject { ["usage"] = new JsonObject { ["input"] = 10, ["output"] = 6 } }),
    }.ToJsonString();

    private async Task<IPage> OpenAsync()
    {
        if (chromium.Missing is { } reason) Assert.Skip(reason);
        Assertions.SetDefaultExpectTimeout(Timeout);
        var context = await chromium.Browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        return page;
    }

    private static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ArtifactDir, name + ".png"), FullPage = true });

    private static async Task LogInAsync(IPage page)
    {
        await Assertions.Expect(page.Locator("#token-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#token-input", HttpNode.Token);
        await page.ClickAsync("#token-form button[type=submit]");
        await Assertions.Expect(page.Locator("#token-dialog")).Not.ToBeVisibleAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_token_is_asked_once_and_kept_in_session_storage_never_in_the_url()
    {
        var page = await OpenAsync();
        await page.GotoAsync(node.BaseUrl + "/");
        await ShotAsync(page, "token-prompt");
        await LogInAsync(page);
        await Assertions.Expect(page.Locator("#cluster tr.member")).ToHaveCountAsync(1);

        Assert.Equal(HttpNode.Token, await page.EvaluateAsync<string>("() => sessionStorage.getItem('yoi-token')"));
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('yoi-token')"));
        Assert.DoesNotContain(HttpNode.Token, page.Url);
        // A reload in the same tab does not ask again.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#cluster tr.member")).ToHaveCountAsync(1);
        Assert.False(await page.Locator("#token-dialog").IsVisibleAsync());
        await page.Context.CloseAsync();
    }

    [Fact(Timeout = 180_000)]
    public async Task A_run_streams_in_pauses_resumes_finishes_and_is_rewound_from_the_browser()
    {
        using var http = node.Client();
        using (var created = await http.CreateWorkerAsync("e2e-story", Scripted.Manifest(node.Dir, "e2e-story", Unfinished(), Ending())))
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        var page = await OpenAsync();
        await page.GotoAsync(node.BaseUrl + "/");
        await LogInAsync(page);

        // Overview: this node (the leader, Up) and the Worker.
        var member = page.Locator("#cluster tr.member");
        await Assertions.Expect(member).ToContainTextAsync("(this node)");
        await Assertions.Expect(member).ToContainTextAsync("upleader");
        var row = page.Locator("#workers tr.worker[data-name='e2e-story']");
        await Assertions.Expect(row).ToContainTextAsync("idle");
        await ShotAsync(page, "overview");

        // The Worker page: start a run from the input box.
        await row.Locator("a").ClickAsync();
        await Assertions.Expect(page.Locator("#worker-name")).ToHaveTextAsync("e2e-story");
        await Assertions.Expect(page.Locator("#conn")).ToHaveTextAsync("live");
        await page.FillAsync("#input", "Tell me a story");
        await page.Keyboard.PressAsync("Enter");

        // Text streams in: the first block is shown while the second has not arrived yet.
        var transcript = page.Locator("#transcript");
        await Assertions.Expect(transcript).ToContainTextAsync("Tell me a story");
        await Assertions.Expect(transcript).ToContainTextAsync("Once upon");
        await Assertions.Expect(page.Locator("#worker-status [data-status]")).ToHaveAttributeAsync("data-status", "running");
        Assert.DoesNotContain("a time", await transcript.InnerTextAsync());
        await ShotAsync(page, "streaming");
        await Assertions.Expect(transcript).ToContainTextAsync("a time");

        // Pause (the stream hangs): the Worker is paused; the interrupted call's uncommitted text is dropped, the input kept.
        await page.ClickAsync("#btn-pause");
        await Assertions.Expect(page.Locator("#worker-status [data-status]")).ToHaveAttributeAsync("data-status", "paused");
        await Assertions.Expect(transcript).ToContainTextAsync("run ended: paused");
        await Assertions.Expect(transcript).ToContainTextAsync("Tell me a story");
        await ShotAsync(page, "paused");

        // Resume: the next call streams the ending and the run finishes.
        await page.ClickAsync("#btn-resume");
        await Assertions.Expect(transcript).ToContainTextAsync("and they lived");
        await Assertions.Expect(transcript).ToContainTextAsync("happily ever after.");
        await Assertions.Expect(transcript).ToContainTextAsync("run ended");
        await Assertions.Expect(page.Locator("#worker-status [data-status]")).ToHaveAttributeAsync("data-status", "idle");
        await ShotAsync(page, "finished");

        // Rewind to the user input: the transcript drops the run and the input box gets the text back.
        await page.ClickAsync("#btn-rewind-list");
        var target = page.Locator("#rewind-list tr.rewind-target");
        await Assertions.Expect(target).ToHaveCountAsync(1);
        await Assertions.Expect(target).ToContainTextAsync("Tell me a story");
        await target.Locator("button.rewind-apply").ClickAsync();
        await Assertions.Expect(page.Locator("#rewind-list")).ToContainTextAsync("rewound");
        await Assertions.Expect(page.Locator("#input")).ToHaveValueAsync("Tell me a story");
        await Assertions.Expect(transcript).Not.ToContainTextAsync("happily ever after.");
        await ShotAsync(page, "rewound");

        // The journal agrees: the discard marker is committed.
        var records = await http.AllRecordsAsync("e2e-story");
        Assert.Contains(records, r => r["kind"]?.GetValue<string>() == "entries_discarded");
        await page.Context.CloseAsync();
    }
}
