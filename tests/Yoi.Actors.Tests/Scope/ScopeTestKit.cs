using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Scope;

/// <summary>A temporary folder tree for scope and tool tests (deleted on dispose).</summary>
public sealed class TempTree : IDisposable
{
    public TempTree()
    {
        Root = PathResolution.RealPath(Path.GetTempPath())! + "/yoi-scope-" + Guid.NewGuid().ToString("N")[..10];
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string P(string rel) => Path.Combine(Root, rel);

    public string File(string rel, string content = "x\n")
    {
        var path = P(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public string Dir(string rel) => Directory.CreateDirectory(P(rel)).FullName;

    public void Link(string rel, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(rel))!);
        System.IO.File.CreateSymbolicLink(P(rel), target);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch { /* best effort */ }
    }
}

public static class ToolKit
{
    public static readonly ToolCallContext Ctx = new("call-1", "tool-batch-0", 0);

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static JsonElement Args(object args) => JsonSerializer.SerializeToElement(args);

    public static Task<ToolOutput> Run(ITool tool, object args, CancellationToken ct = default) =>
        tool.ExecuteAsync(args as JsonElement? ?? Args(args), Ctx, ct);

    public static async Task<ToolException> Fails(ITool tool, object args)
    {
        var e = await Assert.ThrowsAsync<ToolException>(() => Run(tool, args));
        return e;
    }

    public static ScopeRule Allow(string target, Permission p = Permission.Write, bool recursive = true) => new(target, p, recursive);

    /// <summary>All builtin tools over one workspace, by name.</summary>
    public static Dictionary<string, ITool> ToolSet(Workspace ws)
    {
        var tracker = new FileTracker();
        return new ITool[]
        {
            new ReadTool(ws, tracker), new WriteTool(ws, tracker), new EditTool(ws, tracker),
            new GlobTool(ws), new GrepTool(ws), new BashTool(ws),
        }.ToDictionary(t => t.Name);
    }
}
