namespace IoTPE.Broker.Routing;

/// <summary>
/// The members of one shared subscription <c>$share/&lt;ShareName&gt;/&lt;filter&gt;</c>: each message
/// goes to one member only (MQTT 5.0 §4.8.2), chosen round-robin, preferring connected members.
/// </summary>
internal sealed class SharedSubscriptionGroup
{
    private int _next;

    public SharedSubscriptionGroup(string shareName)
    {
        ShareName = shareName;
    }

    public string ShareName { get; }

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
}
