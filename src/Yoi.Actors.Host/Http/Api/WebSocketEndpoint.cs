using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Telemetry;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>`/api/ws`: the JSON Lines protocol of the socket over a WebSocket, one text message per line (same
/// `hello`, `attach`, methods and events). It is not a second implementation: the upgraded socket becomes one more
/// connection of the node's <see cref="ClientEndpoint"/> (<see cref="ClientEndpoint.ServeWebSocketAsync"/>), with
/// its line limit, `hello` deadline and connection caps.
/// <para>Authentication (when `$YOI_TOKEN` is set): `Authorization: Bearer &lt;token&gt;` on the upgrade request,
/// or — for a browser, which cannot set that header on a WebSocket — a first `hello` message carrying the token
/// within the `hello` deadline, exactly as on the TCP endpoint. A wrong bearer header is 401 before the upgrade.
/// A cross-site upgrade (an `Origin` other than this server) is refused: a page elsewhere must not reach the node
/// through a browser that happens to be able to.</para></summary>
public static class WebSocketEndpoint
{
    public const string Path = "/api/ws";

    public static void Map(IEndpointRouteBuilder routes) =>
        routes.Map(Path, (Func<HttpContext, Task<IResult>>)ServeAsync).WithName("JsonLinesWebSocket").ExcludeFromDescription();

    private static async Task<IResult> ServeAsync(HttpContext c)
    {
        if (!c.WebSockets.IsWebSocketRequest)
            return Problems.BadRequest($"{Path} is a WebSocket endpoint: send an upgrade request (GET with `Upgrade: websocket`)");
        if (!SameOrigin(c.Request))
        {
            YoiTelemetry.Rejected("ws", "origin");
            return Problems.Of(StatusCodes.Status403Forbidden, "invalid_request", $"cross-origin WebSocket from `{c.Request.Headers.Origin}` refused");
        }

        var endpoint = c.RequestServices.GetRequiredService<ClientEndpoint>();
        var token = c.RequestServices.GetRequiredService<EndpointOptions>().Token;
        var requireHello = false;
        if (!string.IsNullOrEmpty(token))
        {
            var header = c.Request.Headers.Authorization.ToString();
            if (header.Length == 0) requireHello = true; // a browser: the first message must be `hello` with the token
            else if (!BearerMatches(header, token))
            {
                YoiTelemetry.Rejected("ws", "auth");
                c.Response.Headers.WWWAuthenticate = "Bearer";
                return Problems.Of(StatusCodes.Status401Unauthorized, "unauthorized", "missing or invalid bearer token");
            }
        }

        // Not yet authenticated: counts against its address like an anonymous TCP peer.
        var remote = requireHello ? c.Connection.RemoteIpAddress ?? IPAddress.None : null;
        if (endpoint.TryAdmitWebSocket(remote, out var refusal) is not { } admission)
            return Problems.Of(StatusCodes.Status503ServiceUnavailable, "invalid_request", refusal);

        System.Net.WebSockets.WebSocket socket;
        try { socket = await c.WebSockets.AcceptWebSocketAsync(); }
        catch
        {
            admission.Dispose();
            throw;
        }
        await endpoint.ServeWebSocketAsync(socket, admission, requireHello);
        return Results.Empty;
    }

    private static bool BearerMatches(string header, string token)
    {
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    /// <summary>No `Origin` (not a browser), or one whose host:port is this request's `Host`.</summary>
    public static bool SameOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return true;
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}
