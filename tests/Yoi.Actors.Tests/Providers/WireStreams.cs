namespace Yoi.Actors.Tests.Providers;

/// <summary>Provider bodies the shared fixtures do not have, written from the public wire formats (OpenAI Chat
/// Completions streaming chunks, the Responses API streaming events, the Anthropic Messages SSE events). Ids,
/// signatures and encrypted content are made up.</summary>
internal static class WireStreams
{
    /// <summary>Responses: a reasoning item (summary + encrypted content), a message in two deltas, then two parallel
    /// function calls whose arguments arrive in fragments, then <c>response.completed</c>.</summary>
    public const string ResponsesToolCalls = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_02","object":"response","status":"in_progress","output":[]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_01","type":"reasoning","summary":[]}}

        event: response.reasoning_summary_part.added
        data: {"type":"response.reasoning_summary_part.added","sequence_number":2,"item_id":"rs_01","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_01","output_index":0,"summary_index":0,"delta":"Need both files."}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"id":"rs_01","type":"reasoning","encrypted_content":"gAAAA-enc-01","summary":[{"type":"summary_text","text":"Need both files."}]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":5,"output_index":1,"item":{"id":"msg_02","type":"message","status":"in_progress","role":"assistant","content":[]}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_02","output_index":1,"content_index":0,"delta":"Checking "}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_02","output_index":1,"content_index":0,"delta":"both files."}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":8,"output_index":1,"item":{"id":"msg_02","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Checking both files.","annotations":[]}]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":9,"output_index":2,"item":{"id":"fc_01","type":"function_call","status":"in_progress","arguments":"","call_id":"call_A1","name":"Read"}}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":10,"item_id":"fc_01","output_index":2,"delta":"{\"file_"}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":11,"item_id":"fc_01","output_index":2,"delta":"path\":\"a.txt\"}"}

        event: response.function_call_arguments.done
        data: {"type":"response.function_call_arguments.done","sequence_number":12,"item_id":"fc_01","output_index":2,"arguments":"{\"file_path\":\"a.txt\"}"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":13,"output_index":2,"item":{"id":"fc_01","type":"function_call","status":"completed","arguments":"{\"file_path\":\"a.txt\"}","call_id":"call_A1","name":"Read"}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":14,"output_index":3,"item":{"id":"fc_02","type":"function_call","status":"in_progress","arguments":"","call_id":"call_B2","name":"Read"}}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":15,"item_id":"fc_02","output_index":3,"delta":"{\"file_path\":"}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":16,"item_id":"fc_02","output_index":3,"delta":"\"b.txt\"}"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":17,"output_index":3,"item":{"id":"fc_02","type":"function_call","status":"completed","arguments":"{\"file_path\":\"b.txt\"}","call_id":"call_B2","name":"Read"}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":18,"response":{"id":"resp_02","object":"response","status":"completed","usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":0},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":160}}}


        """;

    /// <summary>Responses stopped by <c>max_output_tokens</c>: a message cut short, then <c>response.incomplete</c>.</summary>
    public const string ResponsesIncomplete = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_03","object":"response","status":"in_progress","output":[]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_03","type":"message","status":"in_progress","role":"assistant","content":[]}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_03","output_index":0,"content_index":0,"delta":"This answer is cut"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{"id":"msg_03","type":"message","status":"incomplete","role":"assistant","content":[{"type":"output_text","text":"This answer is cut","annotations":[]}]}}

        event: response.incomplete
        data: {"type":"response.incomplete","sequence_number":4,"response":{"id":"resp_03","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":30,"output_tokens":5,"total_tokens":35}}}


        """;

    /// <summary>Responses refusal streamed as <c>response.refusal.delta</c>.</summary>
    public const string ResponsesRefusalDeltas = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_04","object":"response","status":"in_progress","output":[]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_04","type":"message","status":"in_progress","role":"assistant","content":[]}}

        event: response.content_part.added
        data: {"type":"response.content_part.added","sequence_number":2,"item_id":"msg_04","output_index":0,"content_index":0,"part":{"type":"refusal","refusal":""}}

        event: response.refusal.delta
        data: {"type":"response.refusal.delta","sequence_number":3,"item_id":"msg_04","output_index":0,"content_index":0,"delta":"I can't help "}

        event: response.refusal.delta
        data: {"type":"response.refusal.delta","sequence_number":4,"item_id":"msg_04","output_index":0,"content_index":0,"delta":"with that."}

        event: response.refusal.done
        data: {"type":"response.refusal.done","sequence_number":5,"item_id":"msg_04","output_index":0,"content_index":0,"refusal":"I can't help with that."}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"id":"msg_04","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":7,"response":{"id":"resp_04","object":"response","status":"completed","usage":{"input_tokens":20,"output_tokens":7,"total_tokens":27}}}


        """;

    /// <summary>Responses refusal given only as a <c>refusal</c> part of the finished message (no deltas).</summary>
    public const string ResponsesRefusalPart = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_05","object":"response","status":"in_progress","output":[]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_05","type":"message","status":"in_progress","role":"assistant","content":[]}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":2,"output_index":0,"item":{"id":"msg_05","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_05","object":"response","status":"completed","usage":{"input_tokens":20,"output_tokens":7,"total_tokens":27}}}


        """;

    /// <summary>Chat Completions refusal: <c>delta.refusal</c> chunks, <c>content</c> null, <c>finish_reason: stop</c>.</summary>
    public const string ChatRefusal = """
        data: {"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"logprobs":null,"finish_reason":null}]}

        data: {"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"refusal":"I'm sorry, "},"logprobs":null,"finish_reason":null}]}

        data: {"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"refusal":"I can't assist with that."},"logprobs":null,"finish_reason":null}]}

        data: {"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}

        data: [DONE]


        """;

    /// <summary>Anthropic stopped by <c>max_tokens</c> inside a tool_use block: its input JSON is cut short.</summary>
    public const string AnthropicMaxTokensInToolUse = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01MaxTok","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Writing the file."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01Cut","name":"Read","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"file_path\": \"REA"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":16}}

        event: message_stop
        data: {"type":"message_stop"}


        """;
}
