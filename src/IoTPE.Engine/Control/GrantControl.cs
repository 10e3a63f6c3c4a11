using System.Buffers;
using System.Text.Json;
using IoTPE.Engine.Accounts;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Control;

/// <summary>
/// The grant control topics of the seed: an owner grants or revokes another account the right to
/// publish or subscribe to part of its namespace, and gets the outcome on
/// <c>/&lt;owner&gt;/grant_result</c>. Only the owner may change its grants.
/// </summary>
internal sealed class GrantControl
{
    /// <summary>The result topic's last level.</summary>
    public const string ResultTopic = "grant_result";

    private readonly AccountDirectory _directory;

    public GrantControl(AccountDirectory directory)
    {
        _directory = directory;
    }

    /// <summary>Whether <paramref name="action"/> (the topic's third level) is a grant control topic.</summary>
    public static bool IsControlTopic(string action) =>
        action is "grant_sub_topic" or "grant_pub_topic" or "revoke_sub_topic" or "revoke_pub_topic";

    /// <summary>Carries out one request and returns the result message's JSON payload.</summary>
    public byte[] Handle(string owner, string action, string? publisher, ReadOnlySpan<byte> payload)
    {
        GrantKind kind = action.EndsWith("_pub_topic", StringComparison.Ordinal) ? GrantKind.Publish : GrantKind.Subscribe;
        bool grant = action.StartsWith("grant_", StringComparison.Ordinal);
        if (publisher != owner)
        {
            return Result(action, null, ok: false, "only the account " + owner + " may change its grants");
        }
        if (!GrantRequest.TryParse(payload, out GrantRequest? request, out string? error))
        {
            return Result(action, null, ok: false, error);
        }
        string absolute = "/" + owner + "/" + request!.Name;
        if (request.Name.Length == 0 || request.Name.StartsWith('/') || !TopicFilter.IsValid(absolute) || SharedSubscription.IsShared(request.Name))
        {
            return Result(action, request, ok: false, $"'{request.Name}' is not a topic filter below /{owner}/");
        }
        AccountSnapshot accounts = _directory.Current;
        if (!accounts.Exists(request.AccountId))
        {
            return Result(action, request, ok: false, $"unknown account '{request.AccountId}'");
        }
        var record = new Grant(owner, request.AccountId, kind, request.Name);
        if (grant)
        {
            _directory.Store.AddGrant(record);
        }
        else if (!_directory.Store.RemoveGrant(record))
        {
            return Result(action, request, ok: false, $"there is no such grant to revoke");
        }
        _directory.ReloadIfChanged();
        return Result(action, request, ok: true, null);
    }

    private static byte[] Result(string action, GrantRequest? request, bool ok, string? error)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        // Relaxed escaping keeps quotes readable in the messages; the payload is never HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteBoolean("ok", ok);
            json.WriteString("request", action);
            if (request is not null)
            {
                json.WriteString("name", request.Name);
                json.WriteString("accountId", request.AccountId);
            }
            if (error is not null)
            {
                json.WriteString("error", error);
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
