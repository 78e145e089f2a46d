using System.Text;

namespace Yoi.Actors.Providers;

/// <summary>One server-sent event: the <c>event:</c> name (null when absent) and the joined <c>data:</c> lines.</summary>
internal readonly record struct SseFrame(string? Event, string Data);

/// <summary>Thrown when the byte stream ends inside an SSE frame (a partial line, or field lines with no closing
/// blank line and no newline): the connection was cut mid-event.</summary>
internal sealed class SseTruncatedException() : IOException("connection closed inside an SSE frame");

/// <summary>A minimal WHATWG-style SSE decoder. Unlike <c>System.Net.ServerSentEvents.SseParser</c> (used by the
/// official SDKs), which silently discards an unterminated trailing frame at end of stream, this reader reports
/// it as <see cref="SseTruncatedException"/> so that the engine continues the interrupted stream (§1.5).
/// A complete last frame missing only its closing blank line is still dispatched.</summary>
internal sealed class SseReader(Stream stream)
{
    private readonly StreamReader _reader = new(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 8192);
    private readonly char[] _buffer = new char[8192];
    private readonly StringBuilder _line = new();
    private int _pos;
    private int _len;
    private bool _lastWasCr;

    public async IAsyncEnumerable<SseFrame> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? eventName = null;
        var data = new StringBuilder();
        var hasData = false;
        var hasFields = false;
        while (true)
        {
            var (line, terminated) = await ReadLineAsync(ct).ConfigureAwait(false);
            if (line is null)
            {
                // end of stream
                if (hasFields && hasData) yield return new SseFrame(eventName, data.ToString());
                yield break;
            }
            if (!terminated)
            {
                if (line.Length > 0 || hasFields) throw new SseTruncatedException();
                yield break;
            }
            if (line.Length == 0)
            {
                if (hasData) yield return new SseFrame(eventName, data.ToString());
                eventName = null;
                data.Clear();
                hasData = false;
                hasFields = false;
                continue;
            }
            if (line[0] == ':') continue; // comment (keep-alive)
            hasFields = true;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "event":
                    eventName = value;
                    break;
                case "data":
                    if (hasData) data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    break;
                // id, retry and unknown fields are ignored
            }
        }
    }

    /// <summary>The next line without its terminator; <c>terminated</c> is false for a final line cut by EOF;
    /// null at a clean end of stream.</summary>
    private async ValueTask<(string? Line, bool Terminated)> ReadLineAsync(CancellationToken ct)
    {
        _line.Clear();
        while (true)
        {
            if (_pos >= _len)
            {
                _len = await _reader.ReadAsync(_buffer.AsMemory(), ct).ConfigureAwait(false);
                _pos = 0;
                if (_len == 0) return _line.Length > 0 ? (_line.ToString(), false) : (null, false);
            }
            var c = _buffer[_pos++];
            if (_lastWasCr)
            {
                _lastWasCr = false;
                if (c == '\n') continue; // \r\n
            }
            if (c == '\r')
            {
                _lastWasCr = true;
                return (_line.ToString(), true);
            }
            if (c == '\n') return (_line.ToString(), true);
            _line.Append(c);
        }
    }
}
