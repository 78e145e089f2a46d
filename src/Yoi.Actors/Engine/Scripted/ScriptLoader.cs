using System.Globalization;
using System.Text.Json;

namespace Yoi.Actors.Engine.Scripted;

/// <summary>A script file that cannot be understood; the message names the offending place.</summary>
public sealed class ScriptFormatException(string message) : FormatException(message);

/// <summary>Reads the scripted model's JSON script (also documented in <c>docs/scripted-model.md</c>).
/// <code>
/// {
///   "model": "scripted-1",                        // optional, default "scripted-1"
///   "responses": [                                 // one entry consumed per LLM call
///     { "match": "weather", "items": [ ... ] },    // used only if "weather" occurs in the last user/system message
///     [ ... ]                                      // a response given directly as its item list (matches anything)
///   ]
/// }
/// </code>
/// The root may also be the bare array of responses. Items (one kind per object):
/// <list type="bullet">
/// <item><c>{"text":"Hello"}</c> or <c>{"text":["Hel","lo"]}</c> — one text block with those deltas.</item>
/// <item><c>{"thinking":["a","b"],"signature":"SIG","encrypted_content":"…"}</c> — a thinking block; with a signature
///   and/or encrypted content its stop carries reasoning data (persisted as a reasoning item), else display-only.</item>
/// <item><c>{"tool_call":{"id":"c1","name":"Read","arguments":{…} | "raw json text","chunks":3}}</c> — a tool-use block;
///   object arguments are sent as their JSON text, string arguments verbatim (may be invalid); <c>chunks</c>
///   (default 1) splits the text into that many argument deltas; a missing id becomes <c>call_&lt;response&gt;_&lt;block&gt;</c>.</item>
/// <item><c>{"usage":{"input":10,"output":5,"cache_read":0,"cache_creation":0,"total":15}}</c> — a usage event.</item>
/// <item><c>{"delay_ms":50}</c> — pause the stream.</item>
/// <item><c>{"hang":true}</c> — wait until the request is cancelled.</item>
/// <item><c>{"open_error":{"status":503,"message":"…","retry_after":2,"code":"…","retryable":true}}</c> — the whole
///   response is an open failure (a provider exception before any event).</item>
/// <item><c>{"break":"connection reset"}</c> — a transport break at this point of the stream (after earlier items
///   were streamed: a stream interruption; as the first item: an open failure).</item>
/// <item><c>{"error":{"code":"overloaded_error","message":"busy"}}</c> — a provider error event (fatal for the run).</item>
/// </list></summary>
public static class ScriptLoader
{
    public const string DefaultModel = "scripted-1";

    public static ScriptedScript Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScriptFormatException($"scripted model: cannot read script '{path}': {ex.Message}");
        }
        return Parse(json, path);
    }

    public static ScriptedScript Parse(string json, string source = "script")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ScriptFormatException($"scripted model: {source} is not valid JSON: {ex.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            var model = DefaultModel;
            JsonElement responses;
            if (root.ValueKind == JsonValueKind.Array)
            {
                responses = root;
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in root.EnumerateObject())
                    if (p.Name is not ("model" or "responses"))
                        throw new ScriptFormatException($"scripted model: {source}: unknown key '{p.Name}' (expected model, responses)");
                if (root.TryGetProperty("model", out var m)) model = Str(m, $"{source}.model");
                if (!root.TryGetProperty("responses", out responses) || responses.ValueKind != JsonValueKind.Array)
                    throw new ScriptFormatException($"scripted model: {source}: 'responses' must be an array");
            }
            else
            {
                throw new ScriptFormatException($"scripted model: {source}: the root must be an object or an array");
            }

            var list = new List<ScriptedResponse>();
            var n = 0;
            foreach (var r in responses.EnumerateArray()) list.Add(ParseResponse(r, $"{source}: responses[{n++}]"));
            return new ScriptedScript(model, list);
        }
    }

    private static ScriptedResponse ParseResponse(JsonElement r, string where)
    {
        if (r.ValueKind == JsonValueKind.Array) return new ScriptedResponse(ParseItems(r, where));
        if (r.ValueKind != JsonValueKind.Object)
            throw new ScriptFormatException($"scripted model: {where}: a response is an object {{match?, items}} or an array of items");
        string? match = null;
        IReadOnlyList<ScriptItem> items = [];
        foreach (var p in r.EnumerateObject())
        {
            switch (p.Name)
            {
                case "match": match = Str(p.Value, where + ".match"); break;
                case "items":
                    if (p.Value.ValueKind != JsonValueKind.Array) throw new ScriptFormatException($"scripted model: {where}.items must be an array");
                    items = ParseItems(p.Value, where);
                    break;
                default: throw new ScriptFormatException($"scripted model: {where}: unknown key '{p.Name}' (expected match, items)");
            }
        }
        return new ScriptedResponse(items, match);
    }

    private static List<ScriptItem> ParseItems(JsonElement array, string where)
    {
        var items = new List<ScriptItem>();
        var i = 0;
        foreach (var e in array.EnumerateArray()) items.Add(ParseItem(e, $"{where}.items[{i++}]"));
        return items;
    }

    private static ScriptItem ParseItem(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ScriptFormatException($"scripted model: {where}: an item must be an object");
        var keys = e.EnumerateObject().Select(p => p.Name).ToList();

        void Only(params string[] allowed)
        {
            foreach (var k in keys)
                if (!allowed.Contains(k))
                    throw new ScriptFormatException($"scripted model: {where}: unexpected key '{k}' next to '{allowed[0]}'");
        }

        if (e.TryGetProperty("text", out var text))
        {
            Only("text");
            return new ScriptText(Strings(text, where + ".text"));
        }
        if (e.TryGetProperty("thinking", out var thinking))
        {
            Only("thinking", "signature", "encrypted_content");
            return new ScriptThinking(Strings(thinking, where + ".thinking"),
                OptStr(e, "signature", where), OptStr(e, "encrypted_content", where));
        }
        if (e.TryGetProperty("tool_call", out var call))
        {
            Only("tool_call");
            return ParseToolCall(call, where + ".tool_call");
        }
        if (e.TryGetProperty("usage", out var usage))
        {
            Only("usage");
            if (usage.ValueKind != JsonValueKind.Object) throw new ScriptFormatException($"scripted model: {where}.usage must be an object");
            ulong? U(params string[] names)
            {
                foreach (var name in names)
                    if (usage.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null)
                        return v.TryGetUInt64(out var n) ? n : throw new ScriptFormatException($"scripted model: {where}.usage.{name} must be a non-negative integer");
                return null;
            }
            foreach (var p in usage.EnumerateObject())
                if (p.Name is not ("input" or "output" or "cache_read" or "cache_creation" or "total" or "input_tokens" or "output_tokens"
                    or "cache_read_input_tokens" or "cache_creation_input_tokens" or "total_tokens"))
                    throw new ScriptFormatException($"scripted model: {where}.usage: unknown key '{p.Name}'");
            return new ScriptUsage(U("input", "input_tokens"), U("output", "output_tokens"), U("cache_read", "cache_read_input_tokens"),
                U("cache_creation", "cache_creation_input_tokens"), U("total", "total_tokens"));
        }
        if (e.TryGetProperty("delay_ms", out var delay))
        {
            Only("delay_ms");
            return delay.TryGetInt32(out var ms) && ms >= 0
                ? new ScriptDelay(ms)
                : throw new ScriptFormatException($"scripted model: {where}.delay_ms must be a non-negative integer");
        }
        if (e.TryGetProperty("hang", out var hang))
        {
            Only("hang");
            if (hang.ValueKind != JsonValueKind.True) throw new ScriptFormatException($"scripted model: {where}.hang must be true");
            return new ScriptHang();
        }
        if (e.TryGetProperty("open_error", out var open))
        {
            Only("open_error");
            if (open.ValueKind != JsonValueKind.Object) throw new ScriptFormatException($"scripted model: {where}.open_error must be an object");
            int? status = null;
            double? retryAfter = null;
            bool? retryable = null;
            if (open.TryGetProperty("status", out var s) && s.ValueKind != JsonValueKind.Null)
                status = s.TryGetInt32(out var si) ? si : throw new ScriptFormatException($"scripted model: {where}.open_error.status must be an integer");
            if (open.TryGetProperty("retry_after", out var ra) && ra.ValueKind != JsonValueKind.Null)
                retryAfter = ra.ValueKind == JsonValueKind.Number ? ra.GetDouble() : throw new ScriptFormatException($"scripted model: {where}.open_error.retry_after must be a number of seconds");
            if (open.TryGetProperty("retryable", out var rt) && rt.ValueKind is JsonValueKind.True or JsonValueKind.False)
                retryable = rt.GetBoolean();
            var message = OptStr(open, "message", where + ".open_error") ?? (status is { } st ? $"HTTP {st}" : "open failed");
            return new ScriptOpenError(status, message, retryAfter, OptStr(open, "code", where + ".open_error"), retryable);
        }
        if (e.TryGetProperty("break", out var brk))
        {
            Only("break");
            return new ScriptBreak(brk.ValueKind switch
            {
                JsonValueKind.String => brk.GetString()!,
                JsonValueKind.True => "stream interrupted",
                _ => throw new ScriptFormatException($"scripted model: {where}.break must be a reason string"),
            });
        }
        if (e.TryGetProperty("error", out var error))
        {
            Only("error");
            if (error.ValueKind == JsonValueKind.String) return new ScriptError(null, error.GetString()!);
            if (error.ValueKind != JsonValueKind.Object) throw new ScriptFormatException($"scripted model: {where}.error must be an object {{code?, message}}");
            return new ScriptError(OptStr(error, "code", where + ".error"), OptStr(error, "message", where + ".error") ?? "provider error");
        }
        throw new ScriptFormatException(
            $"scripted model: {where}: unknown item {{{string.Join(", ", keys)}}} (expected text, thinking, tool_call, usage, delay_ms, hang, open_error, break or error)");
    }

    private static ScriptToolCall ParseToolCall(JsonElement call, string where)
    {
        if (call.ValueKind != JsonValueKind.Object) throw new ScriptFormatException($"scripted model: {where} must be an object");
        string? id = null, name = null, args = "";
        var chunks = 1;
        foreach (var p in call.EnumerateObject())
        {
            switch (p.Name)
            {
                case "id": id = Str(p.Value, where + ".id"); break;
                case "name": name = Str(p.Value, where + ".name"); break;
                case "arguments":
                    args = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        _ => p.Value.GetRawText(),
                    };
                    break;
                case "chunks":
                    if (!p.Value.TryGetInt32(out chunks) || chunks < 1)
                        throw new ScriptFormatException($"scripted model: {where}.chunks must be a positive integer");
                    break;
                default: throw new ScriptFormatException($"scripted model: {where}: unknown key '{p.Name}' (expected id, name, arguments, chunks)");
            }
        }
        if (string.IsNullOrEmpty(name)) throw new ScriptFormatException($"scripted model: {where}.name is required");
        return new ScriptToolCall(id, name, args, chunks);
    }

    private static string Str(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new ScriptFormatException($"scripted model: {where} must be a string");

    private static string? OptStr(JsonElement obj, string name, string where) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? Str(v, $"{where}.{name}") : null;

    private static IReadOnlyList<string> Strings(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select((x, i) => Str(x, $"{where}[{i.ToString(CultureInfo.InvariantCulture)}]")).ToArray(),
        _ => throw new ScriptFormatException($"scripted model: {where} must be a string or an array of strings"),
    };
}
