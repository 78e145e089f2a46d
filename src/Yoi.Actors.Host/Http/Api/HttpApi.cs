using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>Everything issue #18 adds to the node's HTTP server, registered from <see cref="HttpServer"/> in one place:
/// the JSON API and event streams (<see cref="WorkerApi"/>), the WebSocket endpoint, the OpenAPI document at
/// `/openapi/v1.json` (Microsoft.AspNetCore.OpenApi) and the dashboard at `/`.</summary>
public static class HttpApi
{
    public const string OpenApiPath = "/openapi/v1.json";

    public static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1");
    }

    public static void Map(IEndpointRouteBuilder routes)
    {
        WorkerApi.Map(routes);
        WebSocketEndpoint.Map(routes);
        routes.MapOpenApi("/openapi/{documentName}.json");
        Dashboard.DashboardFiles.Map(routes);
    }
}
