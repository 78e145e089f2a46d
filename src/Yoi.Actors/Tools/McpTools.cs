using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;

namespace Yoi.Actors.Tools;

/// <summary>One `[[mcp.stdio_server]]`: the server process and its client. Started when the Worker's tools are
/// built (to list the tools); after <see cref="IdleTimeout"/> without calls the process is stopped, and the next
/// call starts it again, so a passivated Worker leaves no process behind for long.</summary>
public sealed class McpServerConnection(McpServerConfig config) : IAsyncDisposable
{
    public static TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
    public static TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private McpClient? _client;
    private Timer? _idle;

    public McpServerConfig Config { get; } = config;

    private StdioClientTransportOptions TransportOptions()
    {
        var env = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var name in Config.EnvInherit ?? [])
            if (Environment.GetEnvironmentVariable(name) is { } value) env[name] = value;
        foreach (var (k, v) in Config.EnvSet ?? new Dictionary<string, McpEnvValue>())
            env[k] = v.Kind == "literal" ? v.Value : Environment.GetEnvironmentVariable(v.Name ?? "");
        return new StdioClientTransportOptions
        {
            Name = Config.Name,
            Command = Config.Command,
            Arguments = (Config.Args ?? []).ToList(),
            WorkingDirectory = Config.Cwd,
            InheritEnvironmentVariables = false,
            EnvironmentVariables = env,
            ShutdownTimeout = TimeSpan.FromSeconds(2),
        };
    }

    public async Task<McpClient> ClientAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_client is null)
            {
                using var start = CancellationTokenSource.CreateLinkedTokenSource(ct);
                start.CancelAfter(StartTimeout);
                _client = await McpClient.CreateAsync(new StdioClientTransport(TransportOptions()), cancellationToken: start.Token).ConfigureAwait(false);
            }
            _idle ??= new Timer(_ => _ = CloseAsync(), null, Timeout.Infinite, Timeout.Infinite);
            _idle.Change(IdleTimeout, Timeout.InfiniteTimeSpan);
            return _client;
        }
        finally { _gate.Release(); }
    }

    private async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_client is { } c)
            {
                _client = null;
                try { await c.DisposeAsync().ConfigureAwait(false); } catch { /* best effort */ }
            }
        }
        finally { _gate.Release(); }
    }

    /// <summary>Drops a client whose transport failed, so the next call starts a fresh process.</summary>
    internal async Task ResetAsync() => await CloseAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        _idle?.Dispose();
        await CloseAsync().ConfigureAwait(false);
    }
}

/// <summary>An MCP server's tool as a Worker tool, named <c>mcp__&lt;server&gt;__&lt;tool&gt;</c>.</summary>
public sealed class McpTool(McpServerConnection connection, string toolName, string description, JsonElement schema) : ITool
{
    public string Name { get; } = $"mcp__{connection.Config.Name}__{toolName}";
    public string ToolName { get; } = toolName;
    public McpServerConnection Connection { get; } = connection;
    public string Description { get; } = description;
    public JsonElement InputSchema { get; } = schema;

    public async Task<ToolOutput> ExecuteAsync(JsonElement input, ToolCallContext context, CancellationToken ct)
    {
        var args = new Dictionary<string, object?>();
        if (input.ValueKind == JsonValueKind.Object)
            foreach (var p in input.EnumerateObject()) args[p.Name] = p.Value.Clone();
        CallToolResult result;
        try
        {
            var client = await Connection.ClientAsync(ct).ConfigureAwait(false);
            result = await client.CallToolAsync(ToolName, args, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            if (e is IOException or InvalidOperationException) await Connection.ResetAsync().ConfigureAwait(false);
            throw new ToolException(ToolErrorKind.ExecutionFailed, $"MCP server `{Connection.Config.Name}` tool `{ToolName}` failed: {e.Message}");
        }
        var text = new StringBuilder();
        foreach (var block in result.Content)
        {
            if (text.Length > 0) text.Append('\n');
            text.Append(block is TextContentBlock t ? t.Text : $"[{block.Type} content]");
        }
        if (result.IsError == true)
            throw new ToolException(ToolErrorKind.ExecutionFailed, $"MCP tool `{ToolName}` reported an error: {text}");
        return ToolOutput.FromText(text.ToString());
    }
}

public static class McpTools
{
    /// <summary>Starts every server (in parallel) and lists its tools. A server that fails to start contributes no
    /// tools; <paramref name="onError"/> hears why.</summary>
    public static async Task<IReadOnlyList<ITool>> CreateAsync(IReadOnlyList<McpServerConfig> servers, Action<string>? onError = null,
        CancellationToken ct = default)
    {
        var lists = await Task.WhenAll(servers.Select(async s =>
        {
            var connection = new McpServerConnection(s);
            try
            {
                var client = await connection.ClientAsync(ct).ConfigureAwait(false);
                var tools = await client.ListToolsAsync(cancellationToken: ct).ConfigureAwait(false);
                return tools.Select(t => (ITool)new McpTool(connection, t.Name, t.Description ?? "", t.JsonSchema)).ToList();
            }
            catch (Exception e)
            {
                onError?.Invoke($"MCP server `{s.Name}` could not be started: {e.Message}");
                await connection.DisposeAsync().ConfigureAwait(false);
                return [];
            }
        })).ConfigureAwait(false);
        return lists.SelectMany(x => x).ToList();
    }
}
