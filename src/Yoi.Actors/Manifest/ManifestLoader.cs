using Tomlyn;
using Tomlyn.Model;

namespace Yoi.Actors.Manifest;

/// <summary>A manifest that cannot be used; the message names the offending key.</summary>
public sealed class ManifestException(string message) : Exception(message);

/// <summary>Reads a TOML manifest (the reference's keys, spec README "Manifest") into a <see cref="WorkerManifest"/>.</summary>
public static class ManifestLoader
{
    private static readonly string[] Schemes = ["anthropic", "openai_chat", "openai_responses", "gemini", "scripted"];

    public static WorkerManifest LoadFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new ManifestException($"manifest file not found: {full}");
        return Parse(File.ReadAllText(full), Path.GetDirectoryName(full)!);
    }

    public static WorkerManifest Parse(string toml, string baseDir)
    {
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(toml) ?? throw new ManifestException("manifest is empty");
        }
        catch (ManifestException) { throw; }
        catch (Exception e)
        {
            throw new ManifestException("manifest is not valid TOML: " + e.Message);
        }

        var worker = Table(root, "worker");
        var model = Table(root, "model") ?? throw new ManifestException("manifest needs a [model] section");
        var engine = Table(root, "engine");
        var session = Table(root, "session");

        var scheme = Str(model, "model.scheme") ?? throw new ManifestException("[model] scheme is required");
        if (!Schemes.Contains(scheme))
            throw new ManifestException($"[model] scheme must be one of {string.Join(", ", Schemes)} (got \"{scheme}\")");
        var script = Str(model, "model.script");
        if (scheme == "scripted")
        {
            if (script is null) throw new ManifestException("[model] script is required when scheme = \"scripted\"");
            script = Path.GetFullPath(Path.Combine(baseDir, script));
        }
        var ctx = Int(model, "model.context_window");
        if (ctx is <= 0) throw new ManifestException("[model] context_window must be > 0");

        var maxTurns = Int(engine, "engine.max_turns");
        if (maxTurns is <= 0) throw new ManifestException("[engine] max_turns must be > 0");
        var toolOutput = Table(engine, "tool_output", "engine.tool_output");
        var perTool = Table(toolOutput, "per_tool", "engine.tool_output.per_tool");
        var fileUpload = Table(engine, "file_upload", "engine.file_upload");

        return new WorkerManifest(
            Name: Str(worker, "worker.name"),
            Model: new ModelSection(scheme, Str(model, "model.model_id"), Str(model, "model.base_url"),
                Str(model, "model.api_key_env"), (ulong?)ctx, script),
            Engine: new EngineSection(
                Instruction: Str(engine, "engine.instruction"),
                MaxTokens: (uint?)Int(engine, "engine.max_tokens"),
                MaxTurns: (int?)maxTurns,
                Temperature: Num(engine, "engine.temperature"),
                TopP: Num(engine, "engine.top_p"),
                TopK: (uint?)Int(engine, "engine.top_k"),
                StopSequences: StrList(engine, "engine.stop_sequences"),
                ToolOutputDefaultMaxBytes: (int)(Int(toolOutput, "engine.tool_output.default_max_bytes") ?? 64 * 1024),
                ToolOutputPerTool: perTool?.ToDictionary(kv => kv.Key, kv => (int)(kv.Value is long l ? l
                    : throw new ManifestException($"engine.tool_output.per_tool.{kv.Key} must be an integer"))),
                FileUploadMaxBytes: (int)(Int(fileUpload, "engine.file_upload.max_bytes") ?? 256 * 1024)),
            Session: new SessionSection(
                Bool(session, "session.record_event_trace") ?? false,
                Bool(session, "session.resume_on_recovery") ?? false),
            BaseDir: Path.GetFullPath(baseDir));
    }

    private static TomlTable? Table(TomlTable? parent, string key, string? path = null)
    {
        if (parent is null || !parent.TryGetValue(key, out var v)) return null;
        return v as TomlTable ?? throw new ManifestException($"{path ?? key} must be a table");
    }

    private static object? Value(TomlTable? t, string path)
    {
        var key = path[(path.LastIndexOf('.') + 1)..];
        return t is not null && t.TryGetValue(key, out var v) ? v : null;
    }

    private static string? Str(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        string s => s,
        _ => throw new ManifestException($"{path} must be a string"),
    };

    private static long? Int(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        long l => l,
        _ => throw new ManifestException($"{path} must be an integer"),
    };

    private static double? Num(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        long l => l,
        double d => d,
        _ => throw new ManifestException($"{path} must be a number"),
    };

    private static bool? Bool(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        bool b => b,
        _ => throw new ManifestException($"{path} must be true or false"),
    };

    private static IReadOnlyList<string>? StrList(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        TomlArray a => a.Select(x => x as string ?? throw new ManifestException($"{path} must be a list of strings")).ToList(),
        _ => throw new ManifestException($"{path} must be a list of strings"),
    };
}
