using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Yoi.Actors.Engine;
using Yoi.Actors.Scope;

namespace Yoi.Actors.Tools;

/// <summary>Typed access to a tool's JSON arguments; bad input is an <c>InvalidArgument</c> naming the field.</summary>
internal static class Args
{
    public static string? OptString(JsonElement input, string name) =>
        input.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad($"`{name}` must be a string")
            : null;

    public static string String(JsonElement input, string name) => OptString(input, name) ?? throw Bad($"`{name}` is required");

    public static long? OptInt(JsonElement input, string name)
    {
        if (!input.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l)) return l;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d)) return (long)d;
        if (v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), out var s)) return s;
        throw Bad($"`{name}` must be an integer");
    }

    public static bool? OptBool(JsonElement input, string name)
    {
        if (!input.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(v.GetString(), out var b) => b,
            _ => throw Bad($"`{name}` must be true or false"),
        };
    }

    public static ToolException Bad(string message) => new(ToolErrorKind.InvalidArgument, message);

    public static JsonElement Schema(string json) => JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>The read-before-write tracker (reference-delegation §7): SHA-256 of the whole file recorded by Read,
/// required (and compared) by Write of an existing file and by Edit; per-path locks serialize Write/Edit; line
/// statistics and the 20 most recently touched paths are kept. Worker-process scoped, never persisted.</summary>
public sealed class FileTracker
{
    private readonly Dictionary<string, string> _hashes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _recent = new();
    private readonly object _gate = new();

    public long LinesAdded { get; private set; }
    public long LinesDeleted { get; private set; }

    public IReadOnlyList<string> RecentPaths { get { lock (_gate) return _recent.ToList(); } }

    public static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    public void Record(string realPath, byte[] content, string logical)
    {
        lock (_gate)
        {
            _hashes[realPath] = Hash(content);
            Touch(logical);
        }
    }

    /// <summary>Throws unless the file was read and is unchanged since.</summary>
    public void Verify(string realPath, byte[] current, string logical)
    {
        string? recorded;
        lock (_gate) _hashes.TryGetValue(realPath, out recorded);
        if (recorded is null) throw ScopeErrors.NotRead(logical);
        if (recorded != Hash(current)) throw ScopeErrors.ModifiedExternally(logical);
    }

    public void Changed(string realPath, byte[] content, string logical, int added, int deleted)
    {
        lock (_gate)
        {
            _hashes[realPath] = Hash(content);
            LinesAdded += added;
            LinesDeleted += deleted;
            Touch(logical);
        }
    }

    private void Touch(string logical)
    {
        _recent.Remove(logical);
        _recent.AddFirst(logical);
        while (_recent.Count > 20) _recent.RemoveLast();
    }

    public async Task<IDisposable> LockAsync(string realPath, CancellationToken ct)
    {
        SemaphoreSlim s;
        lock (_gate)
        {
            if (!_locks.TryGetValue(realPath, out s!)) _locks[realPath] = s = new SemaphoreSlim(1, 1);
        }
        await s.WaitAsync(ct).ConfigureAwait(false);
        return new Releaser(s);
    }

    private sealed class Releaser(SemaphoreSlim s) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) s.Release(); }
    }
}

/// <summary>Check-then-use of a scoped path (spec README "beyond the reference" 11): the attempt checks the path and
/// uses it through <see cref="ScopedIo"/>; when the path changed between the two (a folder became a symlink, so the
/// symlink-free open failed) the whole attempt runs again, at most <see cref="Attempts"/> times. I/O failures become
/// the catalogue's messages, which never name a link target.</summary>
internal static class Guarded
{
    public const int Attempts = 3;

    public static T Run<T>(string? logical, Func<T> attempt)
    {
        for (var i = 1; ; i++)
        {
            try { return attempt(); }
            catch (SafeFsException e) when (e.Changed && i < Attempts) { }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Map(e, logical); }
        }
    }

    public static async Task<T> RunAsync<T>(string? logical, Func<Task<T>> attempt)
    {
        for (var i = 1; ; i++)
        {
            try { return await attempt().ConfigureAwait(false); }
            catch (SafeFsException e) when (e.Changed && i < Attempts) { }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Map(e, logical); }
        }
    }

    private static ToolException Map(Exception e, string? logical)
    {
        string shown;
        try { shown = Workspace.NormalizeLogical(logical) is { Length: > 0 } n ? n : "."; }
        catch (ToolException) { shown = logical ?? "."; }
        return e switch
        {
            SafeFsException { NotFound: true } => ScopeErrors.NotFound(shown),
            SafeFsException { Changed: true } => ScopeErrors.Changed(shown),
            SafeFsException { Errno: 21 } => ScopeErrors.IsDirectory(shown),
            _ => ScopeErrors.Io(shown),
        };
    }
}

internal static class FileOps
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static string? DecodeUtf8(byte[] bytes)
    {
        try
        {
            var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException) { return null; }
    }

    /// <summary>Lines as `cat -n` shows them: "a\nb\n" and "a\nb" both have two lines; "" has none.</summary>
    public static List<string> Lines(string text)
    {
        if (text.Length == 0) return [];
        var lines = text.Split('\n').ToList();
        if (lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        for (var i = 0; i < lines.Count; i++)
            if (lines[i].EndsWith('\r')) lines[i] = lines[i][..^1];
        return lines;
    }

    public static string Numbered(int number, string line) => number.ToString().PadLeft(6) + "\t" + line;

    public static int LineCount(string text) => Lines(text).Count;

    /// <summary>The longest prefix of <paramref name="s"/> whose UTF-8 encoding fits <paramref name="maxBytes"/>.</summary>
    public static string CutUtf8(string s, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(s) <= maxBytes) return s;
        var bytes = Encoding.UTF8.GetBytes(s);
        var keep = maxBytes;
        while (keep > 0 && (bytes[keep] & 0xC0) == 0x80) keep--;
        return Encoding.UTF8.GetString(bytes, 0, keep);
    }
}
