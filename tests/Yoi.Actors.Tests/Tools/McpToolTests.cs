using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Tools;
using static Yoi.Actors.Tests.Scope.ToolKit;

namespace Yoi.Actors.Tests.Tools;

/// <summary>`[[mcp.stdio_server]]` servers as tools, against a real stdio MCP server process
/// (tests/Yoi.McpTestServer, built before the tests).</summary>
public sealed class McpToolTests
{
    private static string ServerDll()
    {
        var parts = AppContext.BaseDirectory.TrimEnd('/').Split('/');
        var bin = Array.LastIndexOf(parts, "bin");
        var root = string.Join('/', parts[..(bin - 1)]); // …/tests
        var dll = Path.Combine(root, "Yoi.McpTestServer", "bin", parts[bin + 1], parts[bin + 2], "Yoi.McpTestServer.dll");
        Assert.True(File.Exists(dll), $"test MCP server not built: {dll}");
        return dll;
    }

    private static WorkerManifest Manifest(string extra = "") => ManifestLoader.Parse($"""
        [model]
        scheme = "anthropic"
        [[mcp.stdio_server]]
        name = "testsrv"
        command = "dotnet"
        args = ["{ServerDll()}"]
        env.inherit = ["DOTNET_ROOT", "HOME", "PATH"]
        env.set.YOI_MCP_GREETING = {"{"} kind = "literal", value = "hello from the manifest" {"}"}
        {extra}
        """, "/tmp");

    [Fact]
    public async Task Server_tools_are_listed_and_called_through_a_real_process()
    {
        var tools = await McpTools.CreateAsync(Manifest().McpServers!, e => Assert.Fail(e), TestContext.Current.CancellationToken);
        try
        {
            Assert.Equal(["mcp__testsrv__add", "mcp__testsrv__echo", "mcp__testsrv__env", "mcp__testsrv__fail"], tools.Select(t => t.Name).Order());
            var echo = tools.Single(t => t.Name == "mcp__testsrv__echo");
            Assert.Contains("Echoes", echo.Description);
            Assert.Equal("object", echo.InputSchema.GetProperty("type").GetString());

            Assert.Equal("echo: hi there", (await Run(echo, new { message = "hi there" })).Summary);
            Assert.Equal("5", (await Run(tools.Single(t => t.Name == "mcp__testsrv__add"), new { a = 2, b = 3 })).Summary);
            Assert.Equal("hello from the manifest", (await Run(tools.Single(t => t.Name == "mcp__testsrv__env"), new { name = "YOI_MCP_GREETING" })).Summary);
            var e = await Fails(tools.Single(t => t.Name == "mcp__testsrv__fail"), new { });
            Assert.Equal(ToolErrorKind.ExecutionFailed, e.Kind);
        }
        finally
        {
            foreach (var conn in tools.OfType<McpTool>().Select(t => t.Connection).Distinct()) await conn.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_that_cannot_start_contributes_no_tools()
    {
        var errors = new List<string>();
        var servers = ManifestLoader.Parse("[model]\nscheme = \"anthropic\"\n[[mcp.stdio_server]]\nname = \"ghost\"\ncommand = \"/nonexistent/yoi-mcp\"\n", "/tmp").McpServers!;
        var tools = await McpTools.CreateAsync(servers, errors.Add, TestContext.Current.CancellationToken);
        Assert.Empty(tools);
        Assert.Contains("MCP server `ghost` could not be started", Assert.Single(errors));
    }
}
