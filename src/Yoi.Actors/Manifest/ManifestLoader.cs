using Yoi.Messages;
using System.Text.RegularExpressions;
using Tomlyn;
using Tomlyn.Model;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Manifest;

/// <summary>A manifest that cannot be used; the message names the offending key.</summary>
public sealed class ManifestException(string message) : Exception(message);

/// <summary>Reads TOML manifests (the reference's keys, spec README "Manifest"; reference-delegation §6) into a
/// <see cref="WorkerManifest"/>. A manifest may be given as layers (lowest first): each layer's relative paths are
/// made absolute against its own folder, the layers are merged (§6.1) and the result is validated once.</summary>
public static partial class ManifestLoader
{
    private static readonly string[] Schemes = ["anthropic", "openai_chat", "openai_responses", "gemini", "chat_client", "scripted"];

    /// <summary>Array keys whose layers are concatenated (lower first); every other array is replaced.</summary>
    private static readonly HashSet<string> ConcatenatedArrays =
    [
        "scope.allow", "scope.deny", "delegation_scope.allow", "delegation_scope.deny", "permissions.rule",
        "mcp.stdio_server", "skills.directories", "plugins.enabled",
    ];

    /// <summary>Fields the reference removed: a manifest that still sets them is rejected.</summary>
    private static readonly string[] RemovedFields = ["compaction.prune_protected_turns", "memory.extract_worker_max_input_tokens"];

    public static WorkerManifest LoadFile(string path) => LoadFiles(path);

    /// <summary>Layered files, lowest first; the top file's folder is the manifest's base dir.</summary>
    public static WorkerManifest LoadFiles(params string[] paths)
    {
        if (paths.Length == 0) throw new ManifestException("no manifest given");
        var layers = new List<(string, string)>();
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new ManifestException($"manifest file not found: {full}");
            layers.Add((File.ReadAllText(full), Path.GetDirectoryName(full)!));
        }
        return ParseLayers(layers);
    }

    /// <summary><paramref name="catalog"/> resolves `[model] ref` (the node's catalog; default the built-in one).</summary>
    public static WorkerManifest Parse(string toml, string baseDir, Yoi.Actors.Providers.ModelCatalog? catalog = null) =>
        ParseLayers([(toml, baseDir)], catalog);

    /// <summary>Merges layers (lowest first) and validates the result.</summary>
    public static WorkerManifest ParseLayers(IReadOnlyList<(string Toml, string BaseDir)> layers, Yoi.Actors.Providers.ModelCatalog? catalog = null)
    {
        if (layers.Count == 0) throw new ManifestException("no manifest given");
        var merged = new TomlTable();
        foreach (var (toml, dir) in layers) merged = Merge(merged, ParseLayer(toml, dir));
        return Build(merged, layers[^1].BaseDir, catalog ?? Yoi.Actors.Providers.ModelCatalog.Builtin);
    }

    /// <summary>Parses one layer and makes its relative paths absolute against <paramref name="baseDir"/>.</summary>
    public static TomlTable ParseLayer(string toml, string baseDir)
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
        AbsolutizeLayer(root, Path.GetFullPath(baseDir));
        return root;
    }

    private static void AbsolutizeLayer(TomlTable root, string baseDir)
    {
        string Abs(string key, object? v) => v is string s
            ? Path.GetFullPath(Path.Combine(baseDir, s))
            : throw new ManifestException($"{key} must be a string");

        void At(TomlTable? t, string key, string path)
        {
            if (t is not null && t.TryGetValue(key, out var v)) t[key] = Abs(path, v);
        }

        At(Table(root, "worker"), "workspace", "worker.workspace");
        At(Table(root, "worker"), "cwd", "worker.cwd");
        At(Table(root, "model"), "script", "model.script");
        foreach (var section in new[] { "scope", "delegation_scope" })
        {
            var t = Table(root, section);
            foreach (var list in new[] { "allow", "deny" })
            {
                var i = 0;
                foreach (var rule in Tables(t, list, $"{section}.{list}"))
                {
                    At(rule, "target", $"{section}.{list}[{i}].target");
                    i++;
                }
            }
        }
        var mcp = Table(root, "mcp");
        var n = 0;
        foreach (var server in Tables(mcp, "stdio_server", "mcp.stdio_server"))
        {
            if (server.TryGetValue("cwd", out var cwd) && cwd is TomlTable c && c.TryGetValue("path", out _))
                At(c, "path", $"mcp.stdio_server[{n}].cwd.path");
            n++;
        }
        if (Table(root, "skills") is { } skills && skills.TryGetValue("directories", out var dirs) && dirs is TomlArray a)
            for (var i = 0; i < a.Count; i++) a[i] = Abs($"skills.directories[{i}]", a[i]);
    }

    /// <summary>§6.1 merge: scalars from the upper layer win; tables merge field by field; the rule lists
    /// (scope, delegation_scope, permissions.rule, mcp.stdio_server, skills.directories, plugins.enabled) concatenate.</summary>
    public static TomlTable Merge(TomlTable lower, TomlTable upper, string prefix = "")
    {
        var result = new TomlTable();
        foreach (var (k, v) in lower) result[k] = v;
        foreach (var (k, v) in upper)
        {
            var path = prefix.Length == 0 ? k : prefix + "." + k;
            if (result.TryGetValue(k, out var existing))
            {
                if (existing is TomlTable lt && v is TomlTable ut) { result[k] = Merge(lt, ut, path); continue; }
                if (ConcatenatedArrays.Contains(path)) { result[k] = Concat(existing, v, path); continue; }
            }
            result[k] = v;
        }
        return result;
    }

    private static object Concat(object lower, object upper, string path)
    {
        if (lower is TomlTableArray lta && upper is TomlTableArray uta)
        {
            var r = new TomlTableArray();
            foreach (var t in lta) r.Add(t);
            foreach (var t in uta) r.Add(t);
            return r;
        }
        var arr = new TomlArray();
        foreach (var x in AsItems(lower, path)) arr.Add(x);
        foreach (var x in AsItems(upper, path)) arr.Add(x);
        return arr;
    }

    private static IEnumerable<object?> AsItems(object value, string path) => value switch
    {
        TomlTableArray ta => ta,
        TomlArray a => a,
        _ => throw new ManifestException($"{path} must be a list"),
    };

    // ------------------------------------------------------------------ validation

    private static WorkerManifest Build(TomlTable root, string baseDir, Yoi.Actors.Providers.ModelCatalog catalog)
    {
        foreach (var removed in RemovedFields)
        {
            var dot = removed.IndexOf('.');
            if (Table(root, removed[..dot]) is { } t && t.ContainsKey(removed[(dot + 1)..]))
                throw new ManifestException($"{removed} was removed and is no longer accepted");
        }

        var worker = Table(root, "worker");
        var model = Table(root, "model") ?? throw new ManifestException("manifest needs a [model] section");
        var engine = Table(root, "engine");
        var session = Table(root, "session");

        var modelSection = ModelOf(model, baseDir, catalog);

        var maxTurns = Int(engine, "engine.max_turns");
        if (maxTurns is <= 0) throw new ManifestException("[engine] max_turns must be > 0");
        var toolOutput = Table(engine, "tool_output", "engine.tool_output");
        var perTool = Table(toolOutput, "per_tool", "engine.tool_output.per_tool");
        var fileUpload = Table(engine, "file_upload", "engine.file_upload");
        var defaultMax = Int(toolOutput, "engine.tool_output.default_max_bytes") ?? 64 * 1024;
        if (defaultMax <= 0) throw new ManifestException("engine.tool_output.default_max_bytes must be > 0");
        var uploadMax = Int(fileUpload, "engine.file_upload.max_bytes") ?? 256 * 1024;
        if (uploadMax <= 0) throw new ManifestException("engine.file_upload.max_bytes must be > 0");

        var workspace = Str(worker, "worker.workspace");
        var cwd = Str(worker, "worker.cwd");
        if (workspace is not null && !Directory.Exists(workspace))
            throw new ManifestException($"worker.workspace `{workspace}` is not an existing directory");
        if (cwd is not null && !Directory.Exists(cwd))
            throw new ManifestException($"worker.cwd `{cwd}` is not an existing directory");

        var workers = WorkersOf(Table(Table(root, "feature"), "workers", "feature.workers"));
        var delegationScope = ScopeOf(root, "delegation_scope", requireAllow: false);
        if (workers is { Enabled: true } && delegationScope is not { IsEmpty: false })
            throw new ManifestException("feature.workers requires non-empty [[delegation_scope.allow]]");

        return new WorkerManifest(
            Name: Str(worker, "worker.name"),
            Model: modelSection,
            Engine: new EngineSection(
                Instruction: Str(engine, "engine.instruction"),
                MaxTokens: (uint?)Int(engine, "engine.max_tokens"),
                MaxTurns: (int?)maxTurns,
                Temperature: Num(engine, "engine.temperature"),
                TopP: Num(engine, "engine.top_p"),
                TopK: (uint?)Int(engine, "engine.top_k"),
                StopSequences: StrList(engine, "engine.stop_sequences"),
                Reasoning: ReasoningOf(engine),
                ToolOutputDefaultMaxBytes: (int)defaultMax,
                ToolOutputPerTool: perTool?.ToDictionary(kv => kv.Key, kv => (int)(kv.Value is long l && l > 0 ? l
                    : throw new ManifestException($"engine.tool_output.per_tool.{kv.Key} must be a positive integer"))),
                FileUploadMaxBytes: (int)uploadMax),
            Session: new SessionSection(
                Bool(session, "session.record_event_trace") ?? false,
                Bool(session, "session.resume_on_recovery") ?? false),
            BaseDir: Path.GetFullPath(baseDir),
            Workspace: workspace,
            Cwd: cwd,
            Scope: ScopeOf(root, "scope", requireAllow: true),
            DelegationScope: delegationScope,
            Permissions: PermissionsOf(Table(root, "permissions")),
            McpServers: McpOf(Table(root, "mcp")),
            Workers: workers,
            Compaction: CompactionOf(Table(root, "compaction"),
                Yoi.Actors.Providers.ModelCatalog.EffectiveWindow(modelSection.ContextWindow, null, modelSection.MaxContextWindow)),
            Tools: ToolsOf(Table(root, "tools")),
            Telemetry: TelemetryOf(Table(root, "telemetry")));
    }

    /// <summary>`[feature.workers]` enabled, max_depth (default 3), max_children (default 8).</summary>
    private static WorkersFeature? WorkersOf(TomlTable? t)
    {
        if (t is null) return null;
        var depth = Int(t, "feature.workers.max_depth") ?? 3;
        var children = Int(t, "feature.workers.max_children") ?? 8;
        if (depth < 0) throw new ManifestException("feature.workers.max_depth must be >= 0");
        if (children < 0) throw new ManifestException("feature.workers.max_children must be >= 0");
        return new WorkersFeature(Bool(t, "feature.workers.enabled") ?? false, (int)depth, (int)children);
    }

    /// <summary>A `[scope]`-shaped section; null when absent. `scope` present needs at least one allow rule.</summary>
    private static ScopeConfig? ScopeOf(TomlTable root, string section, bool requireAllow)
    {
        var t = Table(root, section);
        if (t is null) return null;
        foreach (var key in t.Keys)
            if (key is not ("allow" or "deny")) throw new ManifestException($"{section}.{key} is not a known key (use [[{section}.allow]] / [[{section}.deny]])");
        var allow = Rules(t, section, "allow");
        var deny = Rules(t, section, "deny");
        if (requireAllow && allow.Count == 0) throw new ManifestException($"{section}.allow must not be empty");
        return new ScopeConfig(allow, deny);
    }

    private static List<ScopeRule> Rules(TomlTable t, string section, string list)
    {
        var rules = new List<ScopeRule>();
        var i = 0;
        foreach (var r in Tables(t, list, $"{section}.{list}"))
        {
            var at = $"{section}.{list}[{i++}]";
            var target = Str(r, at + ".target") ?? throw new ManifestException($"{at}.target is required");
            if (!Path.IsPathRooted(target)) throw new ManifestException($"{at}.target must be absolute (got \"{target}\")");
            var perm = Str(r, at + ".permission") ?? throw new ManifestException($"{at}.permission is required");
            var permission = perm switch
            {
                "read" => Permission.Read,
                "write" => Permission.Write,
                _ => throw new ManifestException($"{at}.permission must be \"read\" or \"write\" (got \"{perm}\")"),
            };
            rules.Add(new ScopeRule(Path.GetFullPath(target), permission, Bool(r, at + ".recursive") ?? true));
        }
        return rules;
    }

    private static PermissionsSection? PermissionsOf(TomlTable? t)
    {
        if (t is null) return null;
        var def = Str(t, "permissions.default_action") ?? throw new ManifestException("permissions.default_action is required when [permissions] is present");
        var rules = new List<PermissionRule>();
        var i = 0;
        foreach (var r in Tables(t, "rule", "permissions.rule"))
        {
            var at = $"permissions.rule[{i++}]";
            var tool = Str(r, at + ".tool") ?? throw new ManifestException($"{at}.tool is required");
            var pattern = Str(r, at + ".pattern") ?? "*";
            var action = Str(r, at + ".action") ?? throw new ManifestException($"{at}.action is required");
            rules.Add(new PermissionRule(tool, pattern, Action(action, at + ".action")));
        }
        return new PermissionsSection(Action(def, "permissions.default_action"), rules);
    }

    private static PermissionAction Action(string value, string key) => value switch
    {
        "allow" => PermissionAction.Allow,
        "deny" => PermissionAction.Deny,
        "ask" => PermissionAction.Ask,
        _ => throw new ManifestException($"{key} must be \"allow\", \"deny\" or \"ask\" (got \"{value}\")"),
    };

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex McpName();

    private static IReadOnlyList<McpServerConfig>? McpOf(TomlTable? t)
    {
        if (t is null) return null;
        var servers = new List<McpServerConfig>();
        var i = 0;
        foreach (var s in Tables(t, "stdio_server", "mcp.stdio_server"))
        {
            var at = $"mcp.stdio_server[{i++}]";
            var name = Str(s, at + ".name") ?? throw new ManifestException($"{at}.name is required");
            if (!McpName().IsMatch(name)) throw new ManifestException($"{at}.name must match [A-Za-z0-9_-]{{1,64}} (got \"{name}\")");
            if (servers.Any(x => x.Name == name)) throw new ManifestException($"{at}.name `{name}` is not unique");
            var command = Str(s, at + ".command") ?? throw new ManifestException($"{at}.command is required");
            string? cwd = null;
            if (s.TryGetValue("cwd", out var c))
            {
                if (c is not TomlTable ct) throw new ManifestException($"{at}.cwd must be a table {{kind = \"inherit\" | \"path\"}}");
                var kind = Str(ct, at + ".cwd.kind") ?? "inherit";
                if (kind == "path") cwd = Str(ct, at + ".cwd.path") ?? throw new ManifestException($"{at}.cwd.path is required when kind = \"path\"");
                else if (kind != "inherit") throw new ManifestException($"{at}.cwd.kind must be \"inherit\" or \"path\" (got \"{kind}\")");
            }
            IReadOnlyList<string>? inherit = null;
            Dictionary<string, McpEnvValue>? set = null;
            if (Table(s, "env", at + ".env") is { } env)
            {
                inherit = StrList(env, at + ".env.inherit");
                if (Table(env, "set", at + ".env.set") is { } envSet)
                {
                    set = [];
                    foreach (var (k, v) in envSet)
                    {
                        var key = $"{at}.env.set.{k}";
                        if (v is not TomlTable vt) throw new ManifestException($"{key} must be a table {{kind = \"literal\" | \"env_ref\"}}");
                        var kind = Str(vt, key + ".kind") ?? throw new ManifestException($"{key}.kind is required");
                        set[k] = kind switch
                        {
                            "literal" => new McpEnvValue("literal", Value: Str(vt, key + ".value") ?? throw new ManifestException($"{key}.value is required")),
                            "env_ref" => new McpEnvValue("env_ref", Name: Str(vt, key + ".name") ?? throw new ManifestException($"{key}.name is required")),
                            "secret_ref" => throw new ManifestException($"{key}: secret_ref is not supported on this node (no secret store); use env_ref"),
                            _ => throw new ManifestException($"{key}.kind must be \"literal\" or \"env_ref\" (got \"{kind}\")"),
                        };
                    }
                }
            }
            servers.Add(new McpServerConfig(name, command, StrList(s, at + ".args"), cwd, inherit, set));
        }
        return servers;
    }

    // ------------------------------------------------------------------ typed access

    internal static TomlTable? Table(TomlTable? parent, string key, string? path = null)
    {
        if (parent is null || !parent.TryGetValue(key, out var v)) return null;
        return v as TomlTable ?? throw new ManifestException($"{path ?? key} must be a table");
    }

    /// <summary>An array of tables (`[[x]]` or an inline array of inline tables).</summary>
    internal static IEnumerable<TomlTable> Tables(TomlTable? parent, string key, string path)
    {
        if (parent is null || !parent.TryGetValue(key, out var v)) return [];
        return v switch
        {
            TomlTableArray ta => ta.ToList(),
            TomlArray a => a.Select((x, i) => x as TomlTable ?? throw new ManifestException($"{path}[{i}] must be a table")).ToList(),
            _ => throw new ManifestException($"{path} must be an array of tables ([[{path}]])"),
        };
    }

    private static object? Value(TomlTable? t, string path)
    {
        var key = path[(path.LastIndexOf('.') + 1)..];
        return t is not null && t.TryGetValue(key, out var v) ? v : null;
    }

    internal static string? Str(TomlTable? t, string path) => Value(t, path) switch
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

    internal static IReadOnlyList<string>? StrList(TomlTable? t, string path) => Value(t, path) switch
    {
        null => null,
        TomlArray a => a.Select(x => x as string ?? throw new ManifestException($"{path} must be a list of strings")).ToList(),
        _ => throw new ManifestException($"{path} must be a list of strings"),
    };
}
