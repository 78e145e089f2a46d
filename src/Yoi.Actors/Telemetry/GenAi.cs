namespace Yoi.Actors.Telemetry;

/// <summary>Names from the OpenTelemetry GenAI semantic conventions (gen_ai.* registry, client metrics) plus ours
/// (<c>yoi.*</c>) where the conventions have none.</summary>
public static class GenAi
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string ResponseModel = "gen_ai.response.model";
    public const string ResponseId = "gen_ai.response.id";
    public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string UsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string UsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
    public const string AgentName = "gen_ai.agent.name";
    public const string ConversationId = "gen_ai.conversation.id";
    public const string ToolName = "gen_ai.tool.name";
    public const string ToolCallId = "gen_ai.tool.call.id";
    public const string ToolType = "gen_ai.tool.type";
    public const string ToolCallArguments = "gen_ai.tool.call.arguments";
    public const string ToolCallResult = "gen_ai.tool.call.result";
    public const string InputMessages = "gen_ai.input.messages";
    public const string OutputMessages = "gen_ai.output.messages";
    public const string SystemInstructions = "gen_ai.system_instructions";
    public const string TokenType = "gen_ai.token.type";
    public const string ErrorType = "error.type";

    public const string OperationChat = "chat";
    public const string OperationInvokeAgent = "invoke_agent";
    public const string OperationExecuteTool = "execute_tool";

    // ours
    public const string RunTrigger = "yoi.run.trigger";
    public const string RunOutcome = "yoi.run.outcome";
    public const string RunKind = "yoi.run.kind";
    public const string LlmCall = "yoi.llm_call";
    public const string Node = "yoi.node";
    public const string WorkerStatus = "yoi.worker.status";
    public const string Reason = "yoi.reason";

    /// <summary>Our provider schemes mapped to the conventions' well-known <c>gen_ai.provider.name</c> values.</summary>
    public static string Provider(string scheme) => scheme switch
    {
        "anthropic" => "anthropic",
        "openai_chat" or "openai_responses" => "openai",
        "gemini" => "gcp.gemini",
        _ => "yoi." + scheme,
    };

    /// <summary><c>gen_ai.client.token.usage</c> explicit bucket boundaries (the conventions' advice).</summary>
    public static readonly double[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary><c>gen_ai.client.operation.duration</c> explicit bucket boundaries, seconds (the conventions' advice).</summary>
    public static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
}
