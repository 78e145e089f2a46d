using System.Buffers;
using System.IO.Pipelines;

namespace Yoi.Actors.Host.Endpoint;

/// <summary>A bounded JSON Lines reader over System.IO.Pipelines: it never holds more than the caller's limit plus
/// one pipe segment, so a peer that sends a huge line (or no newline at all) costs the node at most that much.
/// <c>StreamReader.ReadLineAsync</c> has no such bound: it buffers the whole line whatever its size.</summary>
public sealed class LineReader : IAsyncDisposable
{
    /// <summary>Pipe segment size: small enough that "limit + one segment" stays close to the limit.</summary>
    public const int SegmentSize = 16 * 1024;

    private readonly PipeReader _pipe;
    private ReadOnlySequence<byte> _buffer;
    private SequencePosition? _consumed; // set while a returned line is still in the pipe's buffer
    private bool _completed;

    /// <summary>The most this reader held at once (for <see cref="MemoryJanitor"/>).</summary>
    public long PeakBuffered { get; private set; }

    public LineReader(Stream stream)
    {
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: SegmentSize, minimumReadSize: 1024, leaveOpen: true));
    }

    public enum Outcome { Line, TooLong, End }

    /// <summary>The next line (without its `\n`, valid until the next call), <see cref="Outcome.TooLong"/> when more
    /// than <paramref name="limit"/> bytes arrive without a newline, or <see cref="Outcome.End"/> at end of stream.
    /// A last line without a newline before the end of stream is returned as a line.</summary>
    public async ValueTask<(Outcome Outcome, ReadOnlySequence<byte> Line)> ReadLineAsync(int limit, CancellationToken ct)
    {
        if (_consumed is { } consumed)
        {
            _pipe.AdvanceTo(consumed);
            _consumed = null;
        }
        if (_completed) return (Outcome.End, default);

        long scanned = 0; // bytes already searched for a newline: each byte is searched once
        while (true)
        {
            var result = await _pipe.ReadAsync(ct);
            _buffer = result.Buffer;
            if (_buffer.Length > PeakBuffered) PeakBuffered = _buffer.Length;
            var newline = _buffer.Slice(scanned).PositionOf((byte)'\n');
            if (newline is { } at)
            {
                var line = _buffer.Slice(0, at);
                _consumed = _buffer.GetPosition(1, at);
                return line.Length > limit ? (Outcome.TooLong, default) : (Outcome.Line, line);
            }
            if (_buffer.Length > limit)
            {
                _pipe.AdvanceTo(_buffer.End); // drop what is held: the connection is closed anyway
                return (Outcome.TooLong, default);
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                _completed = true;
                if (_buffer.Length == 0)
                {
                    _pipe.AdvanceTo(_buffer.End);
                    return (Outcome.End, default);
                }
                _consumed = _buffer.End;
                return (Outcome.Line, _buffer);
            }
            scanned = _buffer.Length;
            _pipe.AdvanceTo(_buffer.Start, _buffer.End);
        }
    }

    /// <summary>Reads and discards input until end of stream or <paramref name="window"/> passes, so a peer that is
    /// still sending gets the error line that was queued before the close (closing a socket with unread input makes
    /// the kernel send a reset, which can destroy it).</summary>
    public async Task DiscardAsync(TimeSpan window)
    {
        if (_consumed is { } consumed)
        {
            _pipe.AdvanceTo(consumed);
            _consumed = null;
        }
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (!_completed)
            {
                var result = await _pipe.ReadAsync(cts.Token);
                _pipe.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
        }
        catch (Exception) { /* timed out, reset, or already closed: nothing more to do */ }
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();
}
