using Yoi.Messages;
using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>The tools a Worker gets from its manifest (reference-delegation §7 "Registration"): with a scope,
/// Read, Write, Edit, Glob, Grep and Bash (only Read, Glob and Grep when nothing in the scope is writable), then
/// the tools of its MCP servers. A manifest without `[[scope.allow]]` has no filesystem tools.</summary>
public static class BuiltinTools
{
    /// <summary>The Worker's filesystem view, or null without a scope.</summary>
    public static Workspace? WorkspaceFor(WorkerManifest manifest, IWriteLoans? loans = null) =>
        manifest.Scope is { IsEmpty: false } scope ? new Workspace(manifest.WorkspaceRoot, scope, manifest.WorkingDirectory, loans) : null;

    public static IReadOnlyList<ITool> Create(WorkerManifest manifest, IWriteLoans? loans = null, Action<string>? onError = null)
    {
        var tools = new List<ITool>();
        if (WorkspaceFor(manifest, loans) is { } workspace)
        {
            var tracker = new FileTracker();
            tools.Add(new ReadTool(workspace, tracker));
            tools.Add(new GlobTool(workspace));
            tools.Add(new GrepTool(workspace));
            if (workspace.Scope.Allow.Any(r => r.Permission == Permission.Write))
            {
                tools.Add(new WriteTool(workspace, tracker));
                tools.Add(new EditTool(workspace, tracker));
                tools.Add(new BashTool(workspace, manifest.Tools?.Bash, SecretEnv(manifest)));
            }
        }
        if (manifest.McpServers is { Count: > 0 } servers)
        {
            var mcp = McpTools.CreateAsync(servers, onError ?? (m => Console.Error.WriteLine("yoi: " + m)))
                .WaitAsync(McpServerConnection.StartTimeout + TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            tools.AddRange(mcp.Where(t => tools.All(x => x.Name != t.Name)));
        }
        return tools;
    }

    /// <summary>Environment variables a sandboxed Bash never sees: the model's API key and the node's client token.</summary>
    public static IReadOnlyList<string> SecretEnv(WorkerManifest manifest) =>
        new[] { manifest.Model.ApiKeyEnv, "YOI_TOKEN" }.OfType<string>().Distinct().ToList();

    /// <summary>The greeting's `scope_summary`; with Bash, a last line says which sandbox applies
    /// (spec README "beyond the reference" 12).</summary>
    public static string ScopeSummary(WorkerManifest manifest)
    {
        if (manifest.Scope is not { IsEmpty: false } s) return manifest.Scope is { } empty ? Workspace.Summary(empty) : "";
        var summary = Workspace.Summary(s);
        if (s.Allow.Any(r => r.Permission == Permission.Write))
            summary += (summary.Length > 0 ? "\n" : "") + BashSandbox.Decide(manifest.Tools?.Bash).Describe();
        return summary;
    }
}
