using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Security;

/// <summary>
/// Deny by default, as the seed's user model says: an account may publish and subscribe in its own
/// namespace <c>/&lt;account&gt;/...</c> and wherever another account granted it the right, and
/// nowhere else; every client may read <c>$SYS/</c>. An account's subscriptions are checked as
/// filters (a filter is allowed only if everything it can match is allowed), and every message
/// again at delivery time, so a revoke takes effect at once, also on existing subscriptions.
/// </summary>
/// <remarks>
/// Anonymous clients (when allowed) use the topics that do not start with <c>/</c>: every topic
/// that does is the accounts' space (<see cref="TopicNamespace.IsAccountSpace"/>), also where it
/// names an account that does not exist (yet), so an anonymous client can never plant a retained
/// message or read what an account left behind. To them the accounts' space is what <c>$</c>
/// topics are to every client (MQTT 5.0 §4.7.2): a filter starting with <c>/</c> is refused, and a
/// filter starting with a wildcard (<c>#</c>, <c>+/x</c>) is accepted but never delivers a topic there.
/// </remarks>
public sealed class AccountAuthorizer(AccountDirectory directory) : IAuthorizer
{
    /// <inheritdoc/>
    public bool CanPublish(ClientIdentity client, string topicName)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client.UserName is not { } account)
        {
            return !TopicNamespace.IsAccountSpace(topicName);
        }
        AccountSnapshot accounts = directory.Current;
        string? owner = TopicNamespace.OwnerOf(topicName);
        if (!accounts.Exists(account))
        {
            return false; // removed while connected
        }
        if (owner == account)
        {
            return true;
        }
        return owner is not null && Granted(accounts, account, owner, GrantKind.Publish, topicName);
    }

    /// <inheritdoc/>
    public bool CanSubscribe(ClientIdentity client, string topicFilter)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(topicFilter);
        if (TopicName.IsDollarTopic(topicFilter))
        {
            return topicFilter.StartsWith("$SYS/", StringComparison.Ordinal); // read-only broker counters
        }
        if (client.UserName is not { } account)
        {
            return !TopicNamespace.IsAccountSpace(topicFilter);
        }
        AccountSnapshot accounts = directory.Current;
        if (!accounts.Exists(account))
        {
            return false;
        }
        if (TopicNamespace.IsCoveredBy(topicFilter, "/" + account + "/#"))
        {
            return true;
        }
        foreach (Grant grant in accounts.GrantsTo(account))
        {
            if (grant.Kind == GrantKind.Subscribe && TopicNamespace.IsCoveredBy(topicFilter, grant.AbsoluteFilter))
            {
                return true;
            }
        }
        return false;
    }

    /// <inheritdoc/>
    public bool CanReceive(ClientIdentity client, string topicName)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (TopicName.IsDollarTopic(topicName))
        {
            return true; // the broker publishes only $SYS/ there
        }
        if (client.UserName is not { } account)
        {
            return !TopicNamespace.IsAccountSpace(topicName);
        }
        AccountSnapshot accounts = directory.Current;
        string? owner = TopicNamespace.OwnerOf(topicName);
        if (!accounts.Exists(account))
        {
            return false;
        }
        if (owner == account)
        {
            return true;
        }
        return owner is not null && Granted(accounts, account, owner, GrantKind.Subscribe, topicName);
    }

    private static bool Granted(AccountSnapshot accounts, string grantee, string owner, GrantKind kind, string topicName)
    {
        foreach (Grant grant in accounts.GrantsTo(grantee))
        {
            if (grant.Kind == kind && grant.Owner == owner && TopicFilter.Matches(grant.AbsoluteFilter, topicName))
            {
                return true;
            }
        }
        return false;
    }
}
