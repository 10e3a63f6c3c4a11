using IoTPE.Broker.Security;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// The key a session has in the broker and in its store: the client identifier within the scope
/// of the account that connected. Client identifiers are chosen by clients, so two accounts (or an
/// account and an anonymous client) may well pick the same one; each gets its own session, and
/// neither can take over, end or read the other's. Clients never see the key: CONNACK, the
/// interceptor and scripts show the client identifier as the client sent it.
/// </summary>
/// <remarks>
/// Forms: <c>&lt;account&gt;:&lt;client id&gt;</c> for a client logged in as an account; for an
/// anonymous client its bare identifier, or <c>:&lt;client id&gt;</c> when the identifier contains a
/// <c>:</c> (so that an anonymous <c>alice:x</c> never names alice's session <c>x</c>); and the
/// bare identifier for the broker's in-process clients (<c>$iotpe/...</c>, which network clients
/// cannot use). An account that scopes identifiers is non-empty, contains no <c>:</c> and does
/// not start with <c>$</c> (<see cref="IsValidScope"/>), so the forms never meet. Anonymous
/// sessions of a plain broker keep the keys (and log lines) they had before identifiers were scoped.
/// </remarks>
internal static class SessionKey
{
    /// <summary>The key of <paramref name="identity"/>'s session.</summary>
    public static string For(ClientIdentity identity) =>
        identity.IsInternal ? identity.ClientId : For(identity.UserName, identity.ClientId);

    /// <summary>The key of the session of <paramref name="clientId"/> connected as <paramref name="account"/> (null: anonymous).</summary>
    public static string For(string? account, string clientId) =>
        account is not null ? account + ":" + clientId
        : clientId.Contains(':', StringComparison.Ordinal) ? ":" + clientId
        : clientId;

    /// <summary>The client identifier inside <paramref name="key"/>, as the client knows it.</summary>
    public static string ClientIdOf(string key)
    {
        if (key.StartsWith(ClientIdentity.InternalClientIdPrefix, StringComparison.Ordinal))
        {
            return key;
        }
        int colon = key.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? key : key[(colon + 1)..]; // also the anonymous form ":<client id>"
    }

    /// <summary>Whether an authenticated user name can scope client identifiers without two scopes meeting.</summary>
    public static bool IsValidScope(string account) =>
        account.Length > 0 && account[0] != '$' && !account.Contains(':', StringComparison.Ordinal);
}
