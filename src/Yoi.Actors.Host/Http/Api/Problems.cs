using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>RFC 9457 problem details for the API, carrying the protocol's error code as the `code` extension.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <summary>HTTP status of a protocol error (pure; a Worker that does not exist is 404 whatever the code).</summary>
    public static int StatusOf(ErrorEvent error) => error switch
    {
        { Code: ErrorCode.InvalidRequest } when error.Message.Contains("does not exist", StringComparison.Ordinal) => StatusCodes.Status404NotFound,
        { Code: ErrorCode.AlreadyRunning or ErrorCode.NotRunning or ErrorCode.NotPaused } => StatusCodes.Status409Conflict,
        { Code: ErrorCode.InvalidRequest } => StatusCodes.Status400BadRequest,
        { Code: ErrorCode.ProviderError } => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static string CodeName(ErrorCode code) => Yoi.Messages.Json.YoiJson.Serialize(code).Trim('"');

    public static IResult From(ErrorEvent error) => Of(StatusOf(error), CodeName(error.Code), error.Message);

    public static IResult Of(int status, string code, string detail) =>
        Results.Text(Body(status, code, detail).ToJsonString(), ContentType, statusCode: status);

    public static JsonObject Body(int status, string code, string detail) => new()
    {
        ["type"] = "about:blank",
        ["title"] = Title(status),
        ["status"] = status,
        ["detail"] = detail,
        ["code"] = code,
    };

    public static IResult BadRequest(string detail) => Of(StatusCodes.Status400BadRequest, "invalid_request", detail);

    public static IResult NotFound(string worker) =>
        Of(StatusCodes.Status404NotFound, "invalid_request", $"worker `{worker}` does not exist");

    private static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    };
}
