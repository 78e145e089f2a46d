using Yoi.Actors.Engine;
using Yoi.Actors.Manifest;
using Yoi.Actors.Providers;
using Yoi.Actors.Tests.Engine;
using Yoi.Messages;
using Resp = Yoi.Actors.Tests.Providers.StubResponse;

namespace Yoi.Actors.Tests.Providers;

/// <summary>`[model]` → provider client, and the API key never leaving the HTTP header.</summary>
public sealed class ProviderSelectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WorkerManifest Manifest(string toml) => ManifestLoader.Parse(toml, Path.GetTempPath());

    [Fact]
    public void Manifest_selects_scheme_model_base_url_and_reads_the_key_from_the_named_variable()
    {
        var variable = "YOI_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, ProviderRig.Key);
        try
        {
            var manifest = Manifest($"""
                [model]
                scheme = "openai_chat"
                model_id = "llama3.3"
                base_url = "http://127.0.0.1:11434/v1"
                api_key_env = "{variable}"
                context_window = 128000
                """);
            var client = Assert.IsType<OpenAIChatClient>(ModelClients.Create(manifest, "w"));
            Assert.Equal(("openai_chat", "llama3.3"), (client.Provider, client.Model));
            Assert.Equal(new Uri("http://127.0.0.1:11434/v1/chat/completions"), client.Endpoint);
            Assert.Equal(128000UL, manifest.ContextWindow);
            Assert.DoesNotContain(ProviderRig.Key, manifest.ToJson().GetRawText()); // what is journaled: the name only
            Assert.Contains(variable, manifest.ToJson().GetRawText());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Theory]
    [InlineData("anthropic", typeof(AnthropicClient), "https://api.anthropic.com/v1/messages")]
    [InlineData("openai_chat", typeof(OpenAIChatClient), "https://api.openai.com/v1/chat/completions")]
    [InlineData("openai_responses", typeof(OpenAIResponsesClient), "https://api.openai.com/v1/responses")]
    public void Each_scheme_has_a_default_base_url_and_no_key_means_no_auth(string scheme, Type type, string endpoint)
    {
        var client = (HttpModelClient)ModelClients.Create(Manifest($"""
            [model]
            scheme = "{scheme}"
            model_id = "m1"
            """), "w");
        Assert.IsType(type, client);
        Assert.Equal(new Uri(endpoint), client.Endpoint);
    }

    [Fact]
    public void Missing_variable_missing_model_id_and_bad_base_url_are_manifest_errors_that_name_the_key()
    {
        var missing = Assert.Throws<ManifestException>(() => ModelClients.ProviderSettingsOf(
            new ModelSection("anthropic", "m", ApiKeyEnv: "NOPE_VAR"), _ => null));
        Assert.Contains("NOPE_VAR", missing.Message);
        Assert.Contains("model_id", Assert.Throws<ManifestException>(() => ModelClients.ProviderSettingsOf(new ModelSection("openai_chat"))).Message);
        Assert.Contains("base_url", Assert.Throws<ManifestException>(() =>
            ModelClients.ProviderSettingsOf(new ModelSection("openai_chat", "m", "ftp://x"))).Message);
        var invalid = Assert.Throws<ManifestException>(() => ModelClients.ProviderSettingsOf(
            new ModelSection("openai_chat", "m", ApiKeyEnv: "K"), _ => "sk-bad\nvalue"));
        Assert.DoesNotContain("sk-bad", invalid.Message);
    }

    [Fact]
    public async Task The_api_key_never_appears_in_events_outcomes_or_exception_text()
    {
        var echo = $$$"""{"error":{"message":"Incorrect API key provided: {{{ProviderRig.Key}}}.","type":"invalid_request_error","code":"invalid_api_key"}}""";
        var streamEcho = $$$"""data: {"error":{"message":"key {{{ProviderRig.Key}}} revoked","code":"auth"}}""" + "\n\n";
        await using var rig = new ProviderRig("openai_chat",
            Resp.FromFixture("openai-chat/error_429.json"), Resp.FromFixture("openai-chat/tool_call.sse"), Resp.FromFixture("openai-chat/text.sse"),
            new Resp.Error(401, echo), new Resp.Sse(streamEcho));

        var ok = await rig.RunAsync("one", Ct, new FakeTool("Read"));
        var rejected = await rig.RunAsync("two", Ct);
        var revoked = await rig.RunAsync("three", Ct);

        Assert.Equal(EngineResult.Finished, ok.Result);
        Assert.Equal("Client error: API error [invalid_api_key]: Incorrect API key provided: [redacted].", rejected.Error!.Display);
        Assert.Equal("Client error: API error [auth]: key [redacted] revoked", revoked.Error!.Display);
        Assert.All(rig.Requests, r => Assert.Equal("Bearer " + ProviderRig.Key, r.Header("Authorization"))); // it was sent…
        Assert.All(rig.Requests, r => Assert.DoesNotContain(ProviderRig.Key, r.Body)); // …only as the header
        var everything = string.Join("\n", rig.EventText, ok, rejected, revoked, rejected.Error, revoked.Error,
            string.Join("\n", rig.State.History.Select(h => h.ToString())), rig.Client.ToString(),
            new ProviderSettings("openai_chat", "m", rig.Server.BaseUrl, ProviderRig.Key).ToString());
        Assert.DoesNotContain(ProviderRig.Key, everything);

        // a direct open failure's exception text is redacted as well
        rig.Server.Enqueue(new Resp.Error(401, echo));
        var ex = await Assert.ThrowsAsync<ModelException>(async () =>
            await rig.Client.OpenAsync(new ModelRequest(null, [Kit.User("x")], [], RequestConfig.Default), Ct));
        Assert.DoesNotContain(ProviderRig.Key, ex.ToString());
        Assert.Equal((401, "invalid_api_key", false), (ex.Status, ex.Code, ex.IsRetryable));
    }
}
