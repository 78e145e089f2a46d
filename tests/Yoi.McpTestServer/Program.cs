using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;

// stdout carries the protocol: every log goes to stderr.
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddMcpServer().WithStdioServerTransport().WithTools<TestTools>();
await builder.Build().RunAsync();

[McpServerToolType]
public sealed class TestTools
{
    [McpServerTool(Name = "echo"), Description("Echoes the message back, prefixed with `echo: `.")]
    public static string Echo([Description("The text to echo")] string message) => "echo: " + message;

    [McpServerTool(Name = "add"), Description("Adds two integers.")]
    public static int Add(int a, int b) => a + b;

    [McpServerTool(Name = "env"), Description("Returns the value of an environment variable (or <unset>).")]
    public static string Env(string name) => Environment.GetEnvironmentVariable(name) ?? "<unset>";

    [McpServerTool(Name = "fail"), Description("Always fails.")]
    public static string Fail() => throw new InvalidOperationException("deliberate failure");
}
