namespace Yoi.Messages;

// Plain snake_case string enums of the wire protocol (reference-protocol §7.2).

public enum WorkerStatus { Idle, Running, Paused }

/// <summary>How a run ended without error (`run_end.result`).</summary>
public enum RunResult { Finished, Paused, LimitReached, RolledBack }

public enum TurnResult { Finished, Paused }

public enum ErrorCode { AlreadyRunning, NotRunning, NotPaused, ProviderError, ToolError, InvalidRequest, Internal }

public enum AlertLevel { Warn, Error }

public enum AlertSource { Worker, Engine, Compactor, AgentsMd }

public enum CompletionKind { File }

public enum InFlightToolCallState { Pending, StreamingArgs, Done }

/// <summary>Marker for every message that crosses actors (bound to the Hyperion serializer).</summary>
public interface IYoiMessage;
