using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using IoTPE.Engine.Accounts;
using IoTPE.Scripting;
using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Script management over MQTT, for deploying rules to a gateway remotely, by the owning account
/// only. Requests and their topics (results on <c>/&lt;account&gt;/script/result</c>, as JSON with
/// <c>ok</c>, <c>request</c> and <c>error</c> when it failed):
/// <list type="bullet">
/// <item><c>/&lt;account&gt;/script/load/&lt;name&gt;</c> — payload: the script's text. Compiled first; a syntax
/// error is refused with its line and column; otherwise stored as the next version, the oldest beyond
/// <see cref="ScriptQuota.VersionsKept"/> deleted; a load that would take the account's scripts beyond
/// <see cref="ScriptQuota.MaxBytes"/> is refused.</item>
/// <item><c>/&lt;account&gt;/script/remove/&lt;name&gt;</c> — deletes every version.</item>
/// <item><c>/&lt;account&gt;/script/list</c> — the newest version of each script.</item>
/// <item><c>/&lt;account&gt;/script/show/&lt;name&gt;</c> — the newest version's text.</item>
/// <item><c>/&lt;account&gt;/script/schedule/&lt;name&gt;</c> — payload <c>{"everySeconds": 10}</c> runs the script
/// every 10 seconds; <c>{"everySeconds": null}</c> stops it.</item>
/// </list>
/// </summary>
internal sealed class ScriptManagement(ScriptCatalog catalog, ScriptQuota quota, AccountDirectory accounts, ILogger log)
{
    /// <summary>Largest script accepted, in bytes.</summary>
    public const int MaxScriptBytes = 1024 * 1024;

    /// <summary>The result topic's last level.</summary>
    public const string ResultTopic = "script/result";

    /// <summary>Whether <c>/&lt;owner&gt;/script/...</c> with these levels is a management request.</summary>
    public static bool IsRequest(ReadOnlySpan<string> levelsAfterScript) => levelsAfterScript switch
    {
        ["list"] => true,
        ["load" or "remove" or "show" or "schedule", _] => true,
        _ => false,
    };

    /// <summary>Carries out one request and returns the result's JSON.</summary>
    public byte[] Handle(string owner, string request, string? name, string? publisher, ReadOnlySpan<byte> payload)
    {
        if (publisher != owner)
        {
            return Result(request, name, false, "only the account " + owner + " may manage its scripts");
        }
        if (!accounts.Current.Exists(owner))
        {
            return Result(request, name, false, $"there is no account '{owner}'");
        }
        if (name is not null && !ScriptName.IsValid(name, out string? problem))
        {
            return Result(request, name, false, problem);
        }
        IScriptStore store = catalog.Store;
        switch (request)
        {
            case "load":
                return Load(owner, name!, payload);
            case "remove":
                bool removed = store.Remove(owner, name!);
                catalog.Refresh();
                return removed ? Result(request, name, true, null) : Result(request, name, false, $"there is no script '{name}'");
            case "show":
                if (store.GetLatest(owner, name!) is not { } script)
                {
                    return Result(request, name, false, $"there is no script '{name}'");
                }
                return Write(json =>
                {
                    Head(json, request, name, true);
                    json.WriteNumber("version", script.Version);
                    json.WriteString("loadedAt", script.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
                    json.WriteString("text", script.Text);
                });
            case "list":
                IReadOnlyList<StoredScript> scripts = store.List(owner);
                IReadOnlyList<ScriptSchedule> schedules = store.Schedules();
                return Write(json =>
                {
                    Head(json, request, null, true);
                    json.WriteStartArray("scripts");
                    foreach (StoredScript s in scripts)
                    {
                        json.WriteStartObject();
                        json.WriteString("name", s.Name);
                        json.WriteNumber("version", s.Version);
                        json.WriteString("loadedAt", s.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
                        if (schedules.FirstOrDefault(x => x.Account == owner && x.Name == s.Name) is { } schedule)
                        {
                            json.WriteNumber("everySeconds", schedule.EverySeconds);
                        }
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                });
            case "schedule":
                return Schedule(owner, name!, payload);
            default:
                return Result(request, name, false, "unknown request");
        }
    }

    private byte[] Load(string owner, string name, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxScriptBytes)
        {
            return Result("load", name, false, $"the script is larger than {MaxScriptBytes / 1024} KiB");
        }
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return Result("load", name, false, "the script is not valid UTF-8");
        }
        ScriptError? error = ScriptCheck.Check(name, text);
        if (error is not null)
        {
            return Write(json =>
            {
                Head(json, "load", name, false);
                json.WriteString("error", error.ToString());
                json.WriteNumber("line", error.Position?.Line ?? 0);
                if (error.Position?.Column is { } column)
                {
                    json.WriteNumber("column", column);
                }
            });
        }
        if (catalog.Store.Save(owner, name, text, quota, out long bytesNeeded) is not { } saved)
        {
            string problem = $"the account's scripts would take {bytesNeeded} bytes, more than their quota of {quota.MaxBytes} bytes (engine.maxScriptBytesPerAccount); remove scripts you no longer need";
            log.QuotaExceeded(owner, "script load " + name + ": " + problem);
            return Result("load", name, false, problem);
        }
        catalog.Refresh();
        return Write(json =>
        {
            Head(json, "load", name, true);
            json.WriteNumber("version", saved.Version);
        });
    }

    private byte[] Schedule(string owner, string name, ReadOnlySpan<byte> payload)
    {
        int? every;
        try
        {
            using JsonDocument document = JsonDocument.Parse(payload.ToArray());
            if (!document.RootElement.TryGetProperty("everySeconds", out JsonElement value))
            {
                return Result("schedule", name, false, "\"everySeconds\" is missing (a number of seconds, or null to stop)");
            }
            every = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32();
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return Result("schedule", name, false, "expected {\"everySeconds\": N} or {\"everySeconds\": null}");
        }
        if (every is < 1 or > 86_400)
        {
            return Result("schedule", name, false, "everySeconds must be between 1 and 86400");
        }
        if (every is not null && catalog.Store.GetLatest(owner, name) is null)
        {
            return Result("schedule", name, false, $"there is no script '{name}'");
        }
        catalog.Store.SetSchedule(owner, name, every);
        catalog.Refresh();
        return Result("schedule", name, true, null);
    }

    private static byte[] Result(string request, string? name, bool ok, string? error) => Write(json =>
    {
        Head(json, request, name, ok);
        if (error is not null)
        {
            json.WriteString("error", error);
        }
    });

    private static void Head(Utf8JsonWriter json, string request, string? name, bool ok)
    {
        json.WriteBoolean("ok", ok);
        json.WriteString("request", request);
        if (name is not null)
        {
            json.WriteString("name", name);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
