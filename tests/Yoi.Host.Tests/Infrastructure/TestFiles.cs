using System.Text.Json.Nodes;
using Yoi.Messages;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A temporary directory, deleted on dispose (kept when YOI_KEEP_TEST_HOME is set).</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "yoi-host-test")
    {
        // Short path: a Unix socket path is limited to ~108 bytes.
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("YOI_KEEP_TEST_HOME") is { Length: > 0 }) return;
        try { Directory.Delete(Path, recursive: true); } catch { /* best effort */ }
    }
}

/// <summary>Scripted-model scripts (docs/scripted-model.md) and manifests that use them.</summary>
public static class Scripted
{
    private static readonly JsonObject Usage = new() { ["usage"] = new JsonObject { ["input"] = 10, ["output"] = 3 } };

    private static string Response(string? match, params JsonNode[] items)
    {
        var o = new JsonObject();
        if (match is not null) o["match"] = match;
        o["items"] = new JsonArray(items);
        return o.ToJsonString();
    }

    private static JsonObject TextItem(string[] chunks) => new() { ["text"] = new JsonArray(chunks.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()) };

    /// <summary>A response that streams <paramref name="chunks"/> as one text block, then usage.</summary>
    public static string Text(params string[] chunks) => Response(null, TextItem(chunks), Usage.DeepClone());

    /// <summary>Same, only for a request whose text contains <paramref name="match"/>.</summary>
    public static string TextMatching(string match, params string[] chunks) => Response(match, TextItem(chunks), Usage.DeepClone());

    /// <summary>A response that never ends (until cancelled).</summary>
    public static string Hang(string? match = null) => Response(match, new JsonObject { ["hang"] = true });

    /// <summary>A completed tool call, then usage.</summary>
    public static string ToolCall(string id, string name, string argumentsJson = "{}", string? match = null) =>
        Response(match,
            new JsonObject { ["tool_call"] = new JsonObject { ["id"] = id, ["name"] = name, ["arguments"] = JsonNode.Parse(argumentsJson) } },
            Usage.DeepClone());

    public static string Script(params string[] responses) =>
        new JsonObject { ["model"] = "scripted-1", ["responses"] = new JsonArray(responses.Select(r => JsonNode.Parse(r)).ToArray()) }.ToJsonString();

    /// <summary>Writes the script to DIR/WORKER-script.json and returns a manifest (absolute script path) for the Worker.</summary>
    public static string Manifest(TempDir dir, string worker, params string[] responses)
    {
        var path = dir.File($"{worker}-script.json");
        System.IO.File.WriteAllText(path, Script(responses));
        return $"""
            [worker]
            name = "{worker}"

            [model]
            scheme = "scripted"
            script = "{path}"
            """;
    }

    public static CreateSpec Create(TempDir dir, string worker, params string[] responses) =>
        new(ManifestToml: Manifest(dir, worker, responses));
}
