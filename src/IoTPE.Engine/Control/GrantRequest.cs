using System.Text.Json;

namespace IoTPE.Engine.Control;

/// <summary>
/// A grant or revoke request as the seed shows it: <c>{"name":"mytopic","accountId":"6adb637f9cf2"}</c>
/// published by the owner to <c>/&lt;owner&gt;/grant_sub_topic</c>, <c>grant_pub_topic</c>,
/// <c>revoke_sub_topic</c> or <c>revoke_pub_topic</c>.
/// </summary>
/// <param name="Name">The topic filter below the owner's namespace.</param>
/// <param name="AccountId">The account that gets or loses the right.</param>
internal sealed record GrantRequest(string Name, string AccountId)
{
    /// <summary>Parses the request payload; on failure says what is wrong.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out GrantRequest? request, out string? error)
    {
        request = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "the request must be a JSON object like {\"name\":\"mytopic\",\"accountId\":\"other\"}";
                return false;
            }
            if (!document.RootElement.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
            {
                error = "\"name\" (a topic below your namespace) is missing or not a string";
                return false;
            }
            if (!document.RootElement.TryGetProperty("accountId", out JsonElement account) || account.ValueKind != JsonValueKind.String)
            {
                error = "\"accountId\" (the account to grant to or revoke from) is missing or not a string";
                return false;
            }
            request = new GrantRequest(name.GetString()!, account.GetString()!);
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = "malformed JSON: " + e.Message;
            return false;
        }
    }
}
