using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yoi.Actors.Host.Endpoint;
using Yoi.Actors.Hosting;
using Yoi.Messages;

namespace Yoi.Actors.Host.Http.Api;

/// <summary>The JSON API under `/api`: host inspection through <see cref="HostInspector"/> (as the CLI's inspection
/// commands), Worker methods through a <see cref="WorkerSession"/> (attach, send, wait for the Worker's answer, as a
/// socket client would), committed entries from the journal, and the event stream (<see cref="EventStream"/>).
/// Replies are the protocol events' `data`; errors are problem details with the protocol's error code.</summary>
public static class WorkerApi
{
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);
    public const int MaxPage = 1000;
    public const int DefaultPage = 100;

    // A lambda taking only HttpContext would bind to the RequestDelegate overload and drop its IResult: hence the casts.
    public static void Map(IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api");
        api.MapGet("/cluster", (Func<HttpContext, Task<IResult>>)(c => Host(c, new ClusterShowMethod()))).WithName("GetCluster");
        api.MapGet("/shards", (Func<HttpContext, Task<IResult>>)(c => Host(c, new ShardsMethod()))).WithName("GetShards");
        api.MapGet("/workers", (Func<HttpContext, Task<IResult>>)(c => Host(c, new WorkersMethod()))).WithName("ListWorkers");
        api.MapGet("/workers/{name}", (HttpContext c, string name) => Named(name, () => Host(c, new InspectMethod(name)))).WithName("InspectWorker");
        api.MapPut("/workers/{name}", (HttpContext c, string name) => Named(name, () => CreateAsync(c, name))).WithName("CreateWorker");
        api.MapPost("/workers/{name}/runs", (HttpContext c, string name) => Named(name, () => RunAsync(c, name))).WithName("StartRun");
        api.MapPost("/workers/{name}/pause", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new PauseMethod(), 200)));
        api.MapPost("/workers/{name}/resume", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new ResumeMethod(), 202)));
        api.MapPost("/workers/{name}/cancel", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new CancelMethod(), 200)));
        api.MapPost("/workers/{name}/compact", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new CompactMethod(), 200)));
        api.MapPost("/workers/{name}/shutdown", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new ShutdownMethod(), 200)));
        api.MapPost("/workers/{name}/notify", (HttpContext c, string name) => Named(name, () => NotifyAsync(c, name)));
        api.MapGet("/workers/{name}/rewind-targets", (HttpContext c, string name) => Named(name, () => CommandAsync(c, name, new ListRewindTargetsMethod(), 200)));
        api.MapPost("/workers/{name}/rewind", (HttpContext c, string name) => Named(name, () => RewindAsync(c, name)));
        api.MapGet("/workers/{name}/entries", (HttpContext c, string name) => Named(name, () => EntriesAsync(c, name))).WithName("ListEntries");
        api.MapGet("/workers/{name}/events", (HttpContext c, string name) => Named(name, () => EventStream.ServeAsync(c, name))).WithName("StreamEvents");
    }

    private static async Task<IResult> Named(string name, Func<Task<IResult>> handler) =>
        WorkerName.Validate(name) is { } error ? Problems.BadRequest(error) : await handler();

    internal static ActorSystem ActorSystemOf(HttpContext c) => c.RequestServices.GetRequiredService<ActorSystem>();

    internal static Task<IActorRef> RegionAsync(HttpContext c) =>
        c.RequestServices.GetRequiredService<IRequiredActor<WorkerRegion>>().GetAsync(c.RequestAborted);

    /// <summary>The `data` of a protocol event (what the socket would carry), `{}` for unit events.</summary>
    internal static JsonNode Data(Event e) => JsonNode.Parse(Wire.Encode(e))!["data"]?.DeepClone() ?? new JsonObject();

    private static IResult Ok(Event e, int status = 200) => Results.Text(Data(e).ToJsonString(), "application/json", statusCode: status);

    // ------------------------------------------------------------------ host inspection

    private static async Task<IResult> Host(HttpContext c, Method method)
    {
        var inspector = new HostInspector(ActorSystemOf(c), await RegionAsync(c), c.RequestServices.GetService<HealthCheckService>());
        var reply = await inspector.HandleAsync(method, c.RequestAborted);
        return reply is ErrorEvent error ? Problems.From(error) : Ok(reply);
    }

    // ------------------------------------------------------------------ Worker methods

    private static async Task<IResult> CreateAsync(HttpContext c, string name)
    {
        string toml;
        using (var reader = new StreamReader(c.Request.Body)) toml = await reader.ReadToEndAsync(c.RequestAborted);
        if (string.IsNullOrWhiteSpace(toml)) return Problems.BadRequest("the body must be the Worker's manifest (TOML)");
        var inspector = new HostInspector(ActorSystemOf(c), await RegionAsync(c), c.RequestServices.GetService<HealthCheckService>());
        // Existence from the journal (its first record), not an inspection: that would start an entity that then passivates.
        if ((await new JournalReader(ActorSystemOf(c)).ReadAsync(name, 0, 1, c.RequestAborted)).Count > 0)
            return Problems.Of(StatusCodes.Status409Conflict, "invalid_request", $"worker `{name}` already exists");
        var dir = c.RequestServices.GetRequiredService<EndpointOptions>().ManifestDir;
        var (session, outcome) = await WorkerSession.AttachAsync(ActorSystemOf(c), await RegionAsync(c), name, toml, dir, ct: c.RequestAborted);
        await using (session)
        {
            if (outcome is ErrorEvent error) return Problems.From(error);
        }
        var created = await inspector.HandleAsync(new InspectMethod(name), c.RequestAborted);
        return created is ErrorEvent e2 ? Problems.From(e2) : Results.Text(Data(created).ToJsonString(), "application/json", statusCode: 201);
    }

    private static async Task<IResult> RunAsync(HttpContext c, string name)
    {
        var method = await DecodeBodyAsync(c, "run");
        if (method.Error is { } bad) return bad;
        return await CommandAsync(c, name, method.Method!, 202);
    }

    private static async Task<IResult> NotifyAsync(HttpContext c, string name)
    {
        var method = await DecodeBodyAsync(c, "notify");
        if (method.Error is { } bad) return bad;
        return await CommandAsync(c, name, method.Method!, 202);
    }

    private static async Task<IResult> RewindAsync(HttpContext c, string name)
    {
        var method = await DecodeBodyAsync(c, "rewind_to");
        if (method.Error is { } bad) return bad;
        return await CommandAsync(c, name, method.Method!, 200);
    }

    /// <summary>The body is the method's `params`, decoded by the protocol's own codec (same rules as a socket line).</summary>
    private static async Task<(Method? Method, IResult? Error)> DecodeBodyAsync(HttpContext c, string wireName)
    {
        JsonNode? body;
        try { body = await JsonNode.ParseAsync(c.Request.Body, cancellationToken: c.RequestAborted); }
        catch (JsonException e) { return (null, Problems.BadRequest("invalid JSON body: " + Wire.Describe(e))); }
        var line = new JsonObject { ["method"] = wireName, ["params"] = body?.DeepClone() }.ToJsonString();
        try { return (Wire.DecodeMethod(line), null); }
        catch (Exception e) { return (null, Problems.BadRequest($"invalid `{wireName}` body: " + Wire.Describe(e))); }
    }

    /// <summary>What ends the wait for a method's answer: true = accepted (reply with that event), false = keep
    /// waiting. Errors end it as problems, except the "Cancelled" error a successful cancel produces.</summary>
    internal static bool? Outcome(Method method, Event e) => (method, e) switch
    {
        (CancelMethod, ErrorEvent { Code: ErrorCode.Internal, Message: "Cancelled" }) => false,
        (_, ErrorEvent) => null,
        (RunMethod or ResumeMethod, StatusEvent { Status: WorkerStatus.Running }) => true,
        (NotifyMethod { AutoRun: true }, StatusEvent { Status: WorkerStatus.Running }) => true,
        (PauseMethod, RunEndEvent { Result: RunResult.Paused or RunResult.RolledBack }) => true,
        (PauseMethod, StatusEvent { Status: not WorkerStatus.Running }) => true,
        (CancelMethod, StatusEvent { Status: WorkerStatus.Idle }) => true,
        (CompactMethod, CompactDoneEvent) => true,
        (CompactMethod, CompactFailedEvent) => null,
        (CompactMethod, AlertEvent { Source: AlertSource.Compactor }) => true,
        (ListRewindTargetsMethod, RewindTargetsEvent) => true,
        (RewindToMethod, RewindAppliedEvent) => true,
        (ShutdownMethod, ShutdownEvent) => true,
        _ => false,
    };

    private static async Task<IResult> CommandAsync(HttpContext c, string name, Method method, int okStatus)
    {
        var (session, outcome) = await WorkerSession.AttachAsync(ActorSystemOf(c), await RegionAsync(c), name, ct: c.RequestAborted);
        await using var _ = session;
        if (outcome is ErrorEvent refused) return Problems.From(refused);
        var snapshot = (SnapshotEvent)outcome;

        // Answers the protocol gives with no event: say so rather than wait for one.
        if (method is PauseMethod && snapshot.Status == WorkerStatus.Paused) return Ok(new StatusEvent(WorkerStatus.Paused));
        if (method is NotifyMethod n && (!n.AutoRun || snapshot.Status != WorkerStatus.Idle))
        {
            session.Send(method);
            return Results.Json(new JsonObject { ["queued"] = true }, statusCode: okStatus);
        }

        session.Send(method);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted);
        timeout.CancelAfter(ReplyTimeout);
        try
        {
            while (await session.Events.WaitToReadAsync(timeout.Token))
            {
                while (session.Events.TryRead(out var e))
                {
                    switch (Outcome(method, e))
                    {
                        case true: return Ok(e, okStatus);
                        case null when e is ErrorEvent error: return Problems.From(error);
                        case null: return Problems.Of(500, "internal", ((CompactFailedEvent)e).Error);
                    }
                }
            }
            return method is ShutdownMethod
                ? Ok(new ShutdownEvent(), okStatus)
                : Problems.Of(StatusCodes.Status500InternalServerError, "internal", $"worker `{name}` went away before answering");
        }
        catch (OperationCanceledException) when (!c.RequestAborted.IsCancellationRequested)
        {
            return Problems.Of(StatusCodes.Status504GatewayTimeout, "internal",
                $"worker `{name}` did not answer `{method.GetType().Name}` within {ReplyTimeout.TotalSeconds:0}s");
        }
    }

    // ------------------------------------------------------------------ committed entries

    private static async Task<IResult> EntriesAsync(HttpContext c, string name)
    {
        if (!TryLong(c.Request.Query["after"], 0, out var after) || after < 0) return Problems.BadRequest("`after` must be a non-negative integer");
        if (!TryLong(c.Request.Query["limit"], DefaultPage, out var limit) || limit < 1 || limit > MaxPage)
            return Problems.BadRequest($"`limit` must be an integer from 1 to {MaxPage}");
        var journal = new JournalReader(ActorSystemOf(c));
        var page = await journal.ReadAsync(name, after, (int)limit + 1, c.RequestAborted);
        if (page.Count == 0 && (after == 0 || (await journal.ReadAsync(name, 0, 1, c.RequestAborted)).Count == 0))
            return Problems.NotFound(name);
        var records = page.Take((int)limit).ToList();
        var body = new JsonObject
        {
            ["worker"] = name,
            ["after"] = after,
            ["records"] = new JsonArray(records.Select(r => (JsonNode)r.ToJson()).ToArray()),
            ["next_after"] = records.Count > 0 ? records[^1].Seq : after,
            ["has_more"] = page.Count > limit,
        };
        return Results.Text(body.ToJsonString(), "application/json");
    }

    private static bool TryLong(Microsoft.Extensions.Primitives.StringValues raw, long fallback, out long value)
    {
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0])) { value = fallback; return true; }
        return long.TryParse(raw[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
