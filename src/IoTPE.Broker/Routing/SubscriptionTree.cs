using IoTPE.Broker.Sessions;

namespace IoTPE.Broker.Routing;

/// <summary>
/// Every subscription of every session, in a tree of topic levels, so that finding the
/// subscriptions that match a topic name costs the depth of the topic, not the number of
/// subscriptions. Matching follows MQTT 5.0 §4.7: <c>+</c> matches one level (also an empty one),
/// <c>#</c> matches the rest including the parent level, and a filter starting with a wildcard
/// does not match a topic name starting with <c>$</c>. Not thread-safe: used under the broker lock.
/// </summary>
internal sealed class SubscriptionTree
{
    private readonly Node _root = new(null, string.Empty);

    /// <summary>Number of subscriptions in the tree (shared members included).</summary>
    public int Count { get; private set; }

    /// <summary>Adds <paramref name="subscription"/>; the caller has removed any earlier one with the same session and topic filter.</summary>
    public void Add(Subscription subscription)
    {
        Node node = NodeFor(subscription.Filter, create: true)!;
        if (subscription.ShareName is not null)
        {
            SharedSubscriptionGroup.Key key = SharedSubscriptionGroup.KeyOf(subscription);
            node.Shared ??= [];
            if (!node.Shared.TryGetValue(key, out SharedSubscriptionGroup? group))
            {
                group = new SharedSubscriptionGroup(key);
                node.Shared.Add(key, group);
            }
            group.Members.Add(subscription);
        }
        else
        {
            (node.Subscribers ??= []).Add(subscription);
        }
        Count++;
    }

    /// <summary>Removes <paramref name="subscription"/> and prunes levels left empty.</summary>
    public bool Remove(Subscription subscription)
    {
        Node? node = NodeFor(subscription.Filter, create: false);
        if (node is null)
        {
            return false;
        }
        bool removed;
        if (subscription.ShareName is not null)
        {
            removed = false;
            SharedSubscriptionGroup.Key key = SharedSubscriptionGroup.KeyOf(subscription);
            if (node.Shared is not null && node.Shared.TryGetValue(key, out SharedSubscriptionGroup? group))
            {
                removed = group.Members.Remove(subscription);
                if (group.Members.Count == 0)
                {
                    node.Shared.Remove(key);
                    if (node.Shared.Count == 0)
                    {
                        node.Shared = null;
                    }
                }
            }
        }
        else
        {
            removed = node.Subscribers?.Remove(subscription) ?? false;
            if (node.Subscribers is { Count: 0 })
            {
                node.Subscribers = null;
            }
        }
        if (removed)
        {
            Count--;
            Prune(node);
        }
        return removed;
    }

    /// <summary>
    /// Adds to <paramref name="subscriptions"/> every non-shared subscription matching
    /// <paramref name="topicName"/>, and to <paramref name="sharedGroups"/> every matching shared group.
    /// A session with several matching subscriptions appears several times (MQTT 5.0 §3.3.4 lets the
    /// router decide how to combine them).
    /// </summary>
    public void Match(string topicName, List<Subscription> subscriptions, List<SharedSubscriptionGroup> sharedGroups)
    {
        bool dollarTopic = topicName.Length > 0 && topicName[0] == '$';
        MatchLevel(_root, topicName, 0, firstLevel: true, dollarTopic, subscriptions, sharedGroups);
    }

    private static void MatchLevel(Node node, string topic, int start, bool firstLevel, bool dollarTopic,
        List<Subscription> subscriptions, List<SharedSubscriptionGroup> sharedGroups)
    {
        // §4.7.2: wildcards at the first level do not match $-topics.
        bool wildcardsAllowed = !(firstLevel && dollarTopic);
        if (wildcardsAllowed && node.MultiLevel is { } multi)
        {
            Collect(multi, subscriptions, sharedGroups);
        }

        if (start > topic.Length)
        {
            // All levels consumed: this node's own subscribers match.
            Collect(node, subscriptions, sharedGroups);
            return;
        }

        int slash = topic.IndexOf('/', start);
        int end = slash < 0 ? topic.Length : slash;
        int next = end + 1; // past the end when this was the last level

        if (wildcardsAllowed && node.SingleLevel is { } single)
        {
            MatchLevel(single, topic, next, firstLevel: false, dollarTopic, subscriptions, sharedGroups);
        }
        if (node.TryGetChild(topic.AsSpan(start, end - start), out Node? child))
        {
            MatchLevel(child, topic, next, firstLevel: false, dollarTopic, subscriptions, sharedGroups);
        }
    }

    private static void Collect(Node node, List<Subscription> subscriptions, List<SharedSubscriptionGroup> sharedGroups)
    {
        if (node.Subscribers is { } subscribers)
        {
            subscriptions.AddRange(subscribers);
        }
        if (node.Shared is { } shared)
        {
            foreach (SharedSubscriptionGroup group in shared.Values)
            {
                sharedGroups.Add(group);
            }
        }
    }

    private Node? NodeFor(string filter, bool create)
    {
        Node node = _root;
        int start = 0;
        while (true)
        {
            int slash = filter.IndexOf('/', start);
            int end = slash < 0 ? filter.Length : slash;
            ReadOnlySpan<char> level = filter.AsSpan(start, end - start);
            Node? next;
            if (level is "+")
            {
                next = node.SingleLevel ??= create ? new Node(node, "+") : null;
            }
            else if (level is "#")
            {
                next = node.MultiLevel ??= create ? new Node(node, "#") : null;
            }
            else
            {
                if (!node.TryGetChild(level, out next) && create)
                {
                    next = node.AddChild(level.ToString());
                }
            }
            if (next is null)
            {
                return null;
            }
            node = next;
            if (slash < 0)
            {
                return node;
            }
            start = slash + 1;
        }
    }

    private static void Prune(Node node)
    {
        while (node.Parent is { } parent && node.IsEmpty)
        {
            if (ReferenceEquals(parent.SingleLevel, node))
            {
                parent.SingleLevel = null;
            }
            else if (ReferenceEquals(parent.MultiLevel, node))
            {
                parent.MultiLevel = null;
            }
            else
            {
                parent.RemoveChild(node.Level);
            }
            node = parent;
        }
    }

    private sealed class Node(Node? parent, string level)
    {
        public Node? Parent { get; } = parent;

        public string Level { get; } = level;

        // Looked up by a slice of the topic, without a string per level. The lookup is kept: getting
        // one checks the comparer's type, a cast that showed in the profile of every publish.
        private Dictionary<string, Node>? _children;
        private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _childLookup;

        public Node? SingleLevel { get; set; }

        public Node? MultiLevel { get; set; }

        public List<Subscription>? Subscribers { get; set; }

        /// <summary>Shared subscriptions to this filter, one group per account and share name.</summary>
        public Dictionary<SharedSubscriptionGroup.Key, SharedSubscriptionGroup>? Shared { get; set; }

        public bool TryGetChild(ReadOnlySpan<char> level, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Node? child)
        {
            if (_children is null)
            {
                child = null;
                return false;
            }
            return _childLookup.TryGetValue(level, out child);
        }

        public Node AddChild(string level)
        {
            if (_children is null)
            {
                _children = new Dictionary<string, Node>(StringComparer.Ordinal);
                _childLookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
            }
            var child = new Node(this, level);
            _children.Add(level, child);
            return child;
        }

        public void RemoveChild(string level)
        {
            if (_children is not null && _children.Remove(level) && _children.Count == 0)
            {
                _children = null;
                _childLookup = default;
            }
        }

        public bool IsEmpty => _children is null && SingleLevel is null && MultiLevel is null && Subscribers is null && Shared is null;
    }
}
