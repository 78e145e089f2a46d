using Yoi.Actors.Manifest;
using Yoi.Actors.Providers;

namespace Yoi.Actors.Engine;

/// <summary>Builds the model client a manifest's `[model]` section asks for.</summary>
public static class ModelClients
{
    public static IModelClient Create(WorkerManifest manifest, string workerName) => manifest.Model.Scheme switch
    {
        "scripted" => Scripted.ScriptedModelClient.FromFile(manifest.Model.Script!),
        "anthropic" => new AnthropicClient(ProviderSettingsOf(manifest.Model)),
        "openai_chat" => new OpenAIChatClient(ProviderSettingsOf(manifest.Model)),
        "openai_responses" => new OpenAIResponsesClient(ProviderSettingsOf(manifest.Model)),
        "gemini" => new GeminiClient(ProviderSettingsOf(manifest.Model)),
        "chat_client" => throw new ManifestException(
            $"[model] scheme \"chat_client\" (client \"{manifest.Model.Client}\") needs a node that registers chat clients (AddYoiNode(options, o => o.AddChatClient(…)))"),
        var s => throw new ManifestException($"[model] scheme \"{s}\" is not available in this build yet"),
    };

    /// <summary>Resolves `[model]` for an HTTP provider: <c>model_id</c> is required, <c>base_url</c> defaults per
    /// scheme, the key is read from <c>api_key_env</c> now (the manifest itself only ever holds the variable's name;
    /// no key configured = no auth header, e.g. a local Ollama). Error messages name the variable, never its value.</summary>
    public static ProviderSettings ProviderSettingsOf(ModelSection model, Func<string, string?>? environment = null)
    {
        var scheme = model.Scheme;
        if (string.IsNullOrWhiteSpace(model.ModelId))
            throw new ManifestException($"[model] model_id is required when scheme = \"{scheme}\"");

        Uri baseUrl;
        if (string.IsNullOrWhiteSpace(model.BaseUrl)) baseUrl = ProviderSettings.DefaultBaseUrl(scheme);
        else if (!Uri.TryCreate(model.BaseUrl, UriKind.Absolute, out baseUrl!) || baseUrl.Scheme is not ("http" or "https"))
            throw new ManifestException($"[model] base_url must be an absolute http(s) URL (got \"{model.BaseUrl}\")");

        string? key = null;
        if (!string.IsNullOrWhiteSpace(model.ApiKeyEnv))
        {
            key = (environment ?? Environment.GetEnvironmentVariable)(model.ApiKeyEnv);
            if (string.IsNullOrEmpty(key))
                throw new ManifestException($"[model] api_key_env: environment variable {model.ApiKeyEnv} is not set");
            key = key.Trim();
            if (key.Any(c => c < 0x21 || c > 0x7e))
                throw new ManifestException($"[model] api_key_env: the value of {model.ApiKeyEnv} is not a valid HTTP header value");
        }
        return new ProviderSettings(scheme, model.ModelId, baseUrl, key, model.Capability);
    }
}
