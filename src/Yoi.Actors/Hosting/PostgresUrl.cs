using Npgsql;

namespace Yoi.Actors.Hosting;

/// <summary>`postgres://user:pass@host:port/db?param=value&amp;…` to an Npgsql connection string. Query parameters use
/// libpq's names where Npgsql spells them differently (sslmode, sslrootcert, application_name, connect_timeout…);
/// any other parameter must be an Npgsql connection-string keyword (`Timeout`, `Command Timeout`, `Pooling`…, with
/// `_` for a space). Values are checked by Npgsql itself; an unknown parameter is refused, never dropped.</summary>
public static class PostgresUrl
{
    private static readonly Dictionary<string, string> Libpq = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
        ["keepalives_idle"] = "Keepalive",
        ["channel_binding"] = "Channel Binding",
    };

    public static string ToConnectionString(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"--journal: not a PostgreSQL URL: postgres://user:pass@host:port/db (got \"{Redact(url)}\")");
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
        };
        if (uri.UserInfo.Length > 0)
        {
            var userInfo = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(userInfo[0]);
            if (userInfo.Length > 1) b.Password = Uri.UnescapeDataString(userInfo[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var name = Uri.UnescapeDataString(kv[0].Replace('+', ' '));
            var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : "";
            var keyword = Libpq.TryGetValue(name, out var mapped) ? mapped : name.Replace('_', ' ');
            if (keyword.Equals("Password", StringComparison.OrdinalIgnoreCase) || keyword.Equals("Host", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--journal: give `{name}` in the URL itself, not as a query parameter");
            if (!b.ContainsKey(keyword) && !IsKnownKeyword(keyword))
                throw new ArgumentException($"--journal: unknown PostgreSQL URL parameter `{name}` (use libpq names such as sslmode, " +
                                            "sslrootcert, application_name, connect_timeout, or an Npgsql connection-string keyword)");
            try
            {
                b[keyword] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException)
            {
                throw new ArgumentException($"--journal: invalid value for `{name}`: {e.Message}");
            }
        }
        return b.ConnectionString;
    }

    private static bool IsKnownKeyword(string keyword)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder()[keyword];
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (KeyNotFoundException)
        {
            return false;
        }
    }

    private static string Redact(string url) => url.Contains('@') ? "postgres://…@" + url[(url.IndexOf('@') + 1)..] : url;
}
