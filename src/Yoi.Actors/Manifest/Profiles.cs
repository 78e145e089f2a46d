using Tomlyn;
using Tomlyn.Model;

namespace Yoi.Actors.Manifest;

/// <summary>Profiles (reference-delegation §6.3): a reusable recipe that may declare scope only as an intent
/// (<c>workspace_read</c> / <c>workspace_write</c>, optionally <c>{intent, deny_write = [relative paths]}</c>), resolved
/// against a workspace base into ordinary allow/deny rules. It names no Worker and no concrete scope.</summary>
public static class Profiles
{
    private static readonly string[] Forbidden = ["worker", "manifest", "config"];

    /// <summary>Resolves a profile (TOML text) for a Worker into a full manifest: <paramref name="lowerLayers"/>
    /// (e.g. builtin defaults) first, then the profile.</summary>
    public static WorkerManifest Resolve(string profileToml, string workerName, string workspaceBase,
        IReadOnlyList<(string Toml, string BaseDir)>? lowerLayers = null)
    {
        TomlTable profile;
        try
        {
            profile = TomlSerializer.Deserialize<TomlTable>(profileToml) ?? new TomlTable();
        }
        catch (Exception e)
        {
            throw new ManifestException("profile is not valid TOML: " + e.Message);
        }
        var layer = ToLayer(profile, workerName, workspaceBase);
        var merged = new TomlTable();
        foreach (var (toml, dir) in lowerLayers ?? []) merged = ManifestLoader.Merge(merged, ManifestLoader.ParseLayer(toml, dir));
        merged = ManifestLoader.Merge(merged, layer);
        var text = TomlSerializer.Serialize(merged);
        return ManifestLoader.Parse(text, workspaceBase);
    }

    /// <summary>The profile as a manifest layer: forbidden fields rejected, intents turned into rules.</summary>
    public static TomlTable ToLayer(TomlTable profile, string workerName, string workspaceBase)
    {
        if (!Path.IsPathRooted(workspaceBase)) throw new ManifestException($"workspace base must be absolute (got \"{workspaceBase}\")");
        foreach (var key in Forbidden)
            if (profile.ContainsKey(key)) throw new ManifestException($"profile field `{key}` is not allowed in a profile");
        if (ManifestLoader.Table(profile, "mcp") is { } mcp)
            foreach (var s in ManifestLoader.Tables(mcp, "stdio_server", "mcp.stdio_server"))
                if (s.TryGetValue("cwd", out var c) && c is TomlTable ct && ct.TryGetValue("path", out var p) && p is string ps && Path.IsPathRooted(ps))
                    throw new ManifestException("profile field `mcp.stdio_server.cwd.path` must not be absolute in a profile");
        if (ManifestLoader.Table(profile, "skills") is { } skills && ManifestLoader.StrList(skills, "skills.directories") is { } dirs && dirs.Any(Path.IsPathRooted))
            throw new ManifestException("profile field `skills.directories` must not hold absolute paths in a profile");

        var layer = new TomlTable();
        foreach (var (k, v) in profile)
            if (k is not ("scope" or "delegation_scope")) layer[k] = v;
        layer["worker"] = new TomlTable { ["name"] = workerName };
        foreach (var section in new[] { "scope", "delegation_scope" })
            if (profile.TryGetValue(section, out var value) && Intent(section, value, workspaceBase) is { } rules)
                layer[section] = rules;
        return layer;
    }

    private static TomlTable? Intent(string section, object value, string ws)
    {
        string intent;
        IReadOnlyList<string> denyWrite = [];
        switch (value)
        {
            case string s:
                intent = s;
                break;
            case TomlTable t:
                if (t.ContainsKey("allow") || t.ContainsKey("deny"))
                    throw new ManifestException($"profile field `{section}.allow` / `{section}.deny` is not allowed; declare `{section} = \"workspace_read\" | \"workspace_write\"`");
                intent = ManifestLoader.Str(t, section + ".intent") ?? throw new ManifestException($"{section}.intent is required");
                denyWrite = ManifestLoader.StrList(t, section + ".deny_write") ?? [];
                break;
            default:
                throw new ManifestException($"{section} must be an intent string or a table {{intent, deny_write}}");
        }
        var permission = intent switch
        {
            "workspace_read" => "read",
            "workspace_write" => "write",
            _ => throw new ManifestException($"{section} intent must be \"workspace_read\" or \"workspace_write\" (got \"{intent}\")"),
        };
        var allow = new TomlTableArray { new TomlTable { ["target"] = ws, ["permission"] = permission, ["recursive"] = true } };
        var deny = new TomlTableArray();
        foreach (var rel in denyWrite)
        {
            if (Path.IsPathRooted(rel) || rel.Split('/').Contains(".."))
                throw new ManifestException($"{section}.deny_write entries must be relative paths inside the workspace (got \"{rel}\")");
            deny.Add(new TomlTable { ["target"] = Path.GetFullPath(Path.Combine(ws, rel)), ["permission"] = "write", ["recursive"] = true });
        }
        var result = new TomlTable { ["allow"] = allow };
        if (deny.Count > 0) result["deny"] = deny;
        return result;
    }
}
