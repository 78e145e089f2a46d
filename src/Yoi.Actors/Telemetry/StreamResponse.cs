using Yoi.Actors.Engine;

namespace Yoi.Actors.Telemetry;

/// <summary>The provider's response id and the model that answered, as the provider's stream states them
/// (<c>gen_ai.response.id</c>, <c>gen_ai.response.model</c>). Informational: the engine's assembler ignores it.</summary>
public sealed record StreamResponse(string? Id, string? Model) : StreamEvent;
