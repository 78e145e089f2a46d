using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Yoi.Actors.Host.Http.Dashboard;

/// <summary>The dashboard: `wwwroot/` embedded in the assembly (ManifestEmbeddedFileProvider), served at `/` and
/// `/ui/…` without a token (the files hold no data; the page asks for the token and sends it on every API call).</summary>
public static class DashboardFiles
{
    public const string Prefix = "/ui/";

    private static readonly IFileProvider Files =
        new ManifestEmbeddedFileProvider(typeof(DashboardFiles).Assembly, "Http/Dashboard/wwwroot");

    private static readonly FileExtensionContentTypeProvider Types = new();

    public static bool IsPublic(string path) => path == "/" || path.StartsWith(Prefix, StringComparison.Ordinal);

    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", (HttpContext c) => Serve(c, "index.html")).ExcludeFromDescription();
        routes.MapGet(Prefix + "{*path}", (HttpContext c, string path) => Serve(c, path)).ExcludeFromDescription();
    }

    private static async Task Serve(HttpContext c, string path)
    {
        var file = path.Contains("..", StringComparison.Ordinal) ? null : Files.GetFileInfo(path);
        if (file is null || !file.Exists || file.IsDirectory)
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        c.Response.ContentType = Types.TryGetContentType(path, out var type) ? type : "application/octet-stream";
        c.Response.Headers.CacheControl = "no-cache";
        c.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:";
        c.Response.Headers["X-Content-Type-Options"] = "nosniff";
        await using var stream = file.CreateReadStream();
        await stream.CopyToAsync(c.Response.Body, c.RequestAborted);
    }
}
