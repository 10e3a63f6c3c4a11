namespace IoTPE.Broker.Routing;

/// <summary>
/// The members of one shared subscription <c>$share/&lt;ShareName&gt;/&lt;filter&gt;</c> of one account:
/// each message goes to one member only (MQTT 5.0 §4.8.2), chosen round-robin, preferring
/// connected members.
/// </summary>
/// <remarks>
/// Groups are scoped per account like client identifiers: the same share name used by another
/// account (or by anonymous clients) is another group, which gets its own copy of each message.
/// Otherwise a grantee could join the owner's worker group and take a share of its messages away
/// from it. §4.8.2 leaves the grouping of sessions to the server.
/// </remarks>
internal sealed class SharedSubscriptionGroup
{
    private int _next;

    public SharedSubscriptionGroup(Key key)
    {
        GroupKey = key;
    }

    /// <summary>The account whose clients form the group (null: anonymous clients), and the share name.</summary>
    public Key GroupKey { get; }

    public List<Subscription> Members { get; } = [];

    /// <summary>Picks the member that receives the next message.</summary>
    public Subscription Pick()
    {
        int count = Members.Count;
        for (int i = 0; i < count; i++)
        {
            Subscription candidate = Members[(_next + i) % count];
            if (candidate.Session.IsConnected)
            {
                _next = (_next + i + 1) % count;
                return candidate;
            }
        }
        // Nobody is connected: queue for a persistent member, in turn.
        Subscription chosen = Members[_next % count];
        _next = (_next + 1) % count;
        return chosen;
    }

    /// <summary>The group a shared subscription belongs to.</summary>
    public static Key KeyOf(Subscription subscription) => new(subscription.Session.Identity.UserName, subscription.ShareName!);

    /// <summary>Identifies a group within one topic filter.</summary>
    /// <param name="Account">The account of the members; null for anonymous (and in-process) clients.</param>
    /// <param name="ShareName">The share name.</param>
    public readonly record struct Key(string? Account, string ShareName);
}
