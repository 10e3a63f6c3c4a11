using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Security;

/// <summary>
/// Deny by default, as the seed's user model says: an account may publish and subscribe in its own
/// namespace <c>/&lt;account&gt;/...</c> and wherever another account granted it the right, and
/// nowhere else; every client may read <c>$SYS/</c>. Anonymous clients (when allowed) may use
/// any topic outside every existing account's namespace. Subscriptions are checked as filters
/// (a filter is allowed only if everything it can match is allowed) and again for every message
/// at delivery time, so a revoke takes effect at once, also on existing subscriptions.
/// </summary>
public sealed class AccountAuthorizer(AccountDirectory directory) : IAuthorizer
{
    /// <inheritdoc/>
    public bool CanPublish(ClientIdentity client, string topicName)
    {
        ArgumentNullException.ThrowIfNull(client);
        AccountSnapshot accounts = directory.Current;
        string? owner = TopicNamespace.OwnerOf(topicName);
        if (client.UserName is not { } account)
        {
            return owner is null || !accounts.Exists(owner);
        }
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
        AccountSnapshot accounts = directory.Current;
        if (client.UserName is not { } account)
        {
            return !accounts.Accounts.Any(a => TopicNamespace.CouldReach(topicFilter, a.Name));
        }
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
        AccountSnapshot accounts = directory.Current;
        string? owner = TopicNamespace.OwnerOf(topicName);
        if (client.UserName is not { } account)
        {
            return owner is null || !accounts.Exists(owner);
        }
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
