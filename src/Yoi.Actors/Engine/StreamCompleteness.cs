using System.Runtime.CompilerServices;

namespace Yoi.Actors.Engine;

/// <summary>Deviation (spec README item 8): "a model stream is complete only when it says so". The one rule every
/// client follows: a client translates its scheme's terminal signal into a <see cref="StreamComplete"/> event, and
/// when its source ends — however cleanly — without having produced one, it throws <see cref="Interrupted"/> after
/// the events already yielded. The engine then treats the stream as interrupted (reference-engine §1.5: completed
/// text and reasoning kept, that stream's tool calls discarded, a new LLM call continues), or, when not even a first
/// event arrived, as a retryable open failure (§2). Only a complete stream gets "complete every open block".
/// <para>HTTP/SSE schemes get this from <see cref="Providers.HttpModelClient"/>'s shared read loop (their
/// <see cref="Providers.IStreamMapper"/> declares <see cref="Providers.IStreamMapper.TerminalSignal"/>); a client
/// over another transport (e.g. an <c>IChatClient</c> adapter) wraps its event sequence in
/// <see cref="RequireComplete"/>.</para></summary>
public static class StreamCompleteness
{
    /// <summary>The error for a body that ended without <paramref name="terminalSignal"/> (retryable: a proxy or load
    /// balancer closing a long response is a transport failure, not a model answer).</summary>
    public static ModelException Interrupted(string terminalSignal) =>
        new($"stream interrupted: the response ended without {terminalSignal}", retryable: true);

    /// <summary>Passes <paramref name="events"/> through and throws <see cref="Interrupted"/> at its end unless a
    /// <see cref="StreamComplete"/> went by. Errors of the source pass unchanged before the terminal signal; after it
    /// they end the sequence (the response is complete; only trailing metadata such as usage is lost).</summary>
    public static async IAsyncEnumerable<StreamEvent> RequireComplete(this IAsyncEnumerable<StreamEvent> events,
        string terminalSignal, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var complete = false;
        var source = events.GetAsyncEnumerator(ct);
        await using (source.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await source.MoveNextAsync().ConfigureAwait(false)) break;
                }
                catch (Exception ex) when (complete && ex is not OperationCanceledException)
                {
                    yield break;
                }
                if (source.Current is StreamComplete) complete = true;
                yield return source.Current;
            }
        }
        ct.ThrowIfCancellationRequested();
        if (!complete) throw Interrupted(terminalSignal);
    }
}
