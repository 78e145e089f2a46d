using Tomlyn.Model;

namespace Yoi.Actors.Manifest;

/// <summary>`[telemetry]`: what a Worker's spans may carry. Content (prompts, model output, tool arguments and
/// results) is recorded only with <c>record_content = true</c>; the default records names, ids, counts and timings.</summary>
public sealed record TelemetrySection(bool RecordContent = false);

public static partial class ManifestLoader
{
    private static TelemetrySection? TelemetryOf(TomlTable? t) =>
        t is null ? null : new TelemetrySection(Bool(t, "telemetry.record_content") ?? false);
}
