namespace IoTPE.Broker.Routing;

/// <summary>
/// The retained message of each topic (MQTT 5.0 §3.3.1.3), in a tree of topic levels, so that a
/// new subscription finds the retained messages matching its filter by walking the filter rather
/// than scanning every topic. Each level also knows the bytes of the retained messages at and below
/// it, so a quota on a part of the tree (<see cref="IRetainedQuota"/>) is checked without a scan.
/// Not thread-safe: used under the broker lock.
/// </summary>
internal sealed class RetainedMessageTree
{
    private readonly Node _root = new(null, string.Empty);

    public int Count { get; private set; }

    /// <summary>Sets the retained message of <paramref name="message"/>'s topic and returns the one it replaces, if any.</summary>
    public ApplicationMessage? Set(ApplicationMessage message)
    {
        Node node = NodeFor(message.Topic, create: true)!;
        ApplicationMessage? previous = node.Message;
        node.Message = message;
        if (previous is null)
        {
            Count++;
        }
        AddBytes(node, SizeOf(message) - (previous is null ? 0 : SizeOf(previous)));
        return previous;
    }

    /// <summary>Removes the retained message of <paramref name="topic"/> and returns it, if there was one.</summary>
    public ApplicationMessage? Remove(string topic)
    {
        Node? node = NodeFor(topic, create: false);
        if (node?.Message is not { } previous)
        {
            return null;
        }
        node.Message = null;
        Count--;
        AddBytes(node, -SizeOf(previous));
        while (node.Parent is { } parent && node.Message is null && node.Children is null)
        {
            parent.Children!.Remove(node.Level);
            if (parent.Children.Count == 0)
            {
                parent.Children = null;
            }
            node = parent;
        }
        return previous;
    }

    public ApplicationMessage? Get(string topic) => NodeFor(topic, create: false)?.Message;

    /// <summary>What a retained message counts against a quota: its topic and payload, in bytes.</summary>
    public static long SizeOf(ApplicationMessage message) => message.TopicUtf8.Length + (long)message.PayloadLength;

    /// <summary>The bytes (<see cref="SizeOf"/>) of the retained messages of <paramref name="topic"/> and of every topic below it.</summary>
    public long BytesUnder(string topic) => NodeFor(topic, create: false)?.SubtreeBytes ?? 0;

    /// <summary>Adds the retained messages of <paramref name="topic"/> and of every topic below it, <c>$</c>-levels included.</summary>
    public void CollectUnder(string topic, List<ApplicationMessage> results)
    {
        if (NodeFor(topic, create: false) is not { } node)
        {
            return;
        }
        if (node.Message is { } message)
        {
            results.Add(message);
        }
        CollectSubtree(node, skipDollarChildren: false, results);
    }

    /// <summary>Adds every retained message whose topic matches <paramref name="filter"/> (§4.7).</summary>
    public void Match(string filter, List<ApplicationMessage> results)
    {
        MatchLevel(_root, filter, 0, firstLevel: true, results);
    }

    /// <summary>Every retained message, for $SYS counters and tests.</summary>
    public IEnumerable<ApplicationMessage> All()
    {
        var stack = new Stack<Node>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            if (node.Message is { } message)
            {
                yield return message;
            }
            if (node.Children is { } children)
            {
                foreach (Node child in children.Values)
                {
                    stack.Push(child);
                }
            }
        }
    }

    private static void AddBytes(Node? node, long delta)
    {
        for (; node is not null; node = node.Parent)
        {
            node.SubtreeBytes += delta;
        }
    }

    private static void MatchLevel(Node node, string filter, int start, bool firstLevel, List<ApplicationMessage> results)
    {
        if (start > filter.Length)
        {
            if (node.Message is { } message)
            {
                results.Add(message);
            }
            return;
        }
        int slash = filter.IndexOf('/', start);
        int end = slash < 0 ? filter.Length : slash;
        ReadOnlySpan<char> level = filter.AsSpan(start, end - start);
        if (level is "#")
        {
            // '#' also matches the parent level itself (§4.7.1.2).
            if (!firstLevel && node.Message is { } parentMessage)
            {
                results.Add(parentMessage);
            }
            CollectSubtree(node, firstLevel, results);
            return;
        }
        if (node.Children is null)
        {
            return;
        }
        if (level is "+")
        {
            foreach (Node child in node.Children.Values)
            {
                if (firstLevel && child.Level.StartsWith('$'))
                {
                    continue; // §4.7.2
                }
                MatchLevel(child, filter, end + 1, firstLevel: false, results);
            }
        }
        else if (node.Children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(level, out Node? child))
        {
            MatchLevel(child, filter, end + 1, firstLevel: false, results);
        }
    }

    private static void CollectSubtree(Node node, bool skipDollarChildren, List<ApplicationMessage> results)
    {
        if (node.Children is null)
        {
            return;
        }
        foreach (Node child in node.Children.Values)
        {
            if (skipDollarChildren && child.Level.StartsWith('$'))
            {
                continue;
            }
            if (child.Message is { } message)
            {
                results.Add(message);
            }
            CollectSubtree(child, skipDollarChildren: false, results);
        }
    }

    private Node? NodeFor(string topic, bool create)
    {
        Node node = _root;
        int start = 0;
        while (true)
        {
            int slash = topic.IndexOf('/', start);
            int end = slash < 0 ? topic.Length : slash;
            ReadOnlySpan<char> level = topic.AsSpan(start, end - start);
            node.Children ??= create ? new Dictionary<string, Node>(StringComparer.Ordinal) : null;
            if (node.Children is null)
            {
                return null;
            }
            if (!node.Children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(level, out Node? next))
            {
                if (!create)
                {
                    return null;
                }
                string name = level.ToString();
                next = new Node(node, name);
                node.Children.Add(name, next);
            }
            node = next;
            if (slash < 0)
            {
                return node;
            }
            start = slash + 1;
        }
    }

    private sealed class Node(Node? parent, string level)
    {
        public Node? Parent { get; } = parent;

        public string Level { get; } = level;

        public Dictionary<string, Node>? Children { get; set; }

        public ApplicationMessage? Message { get; set; }

        /// <summary>Bytes of the retained messages of this level and every level below it.</summary>
        public long SubtreeBytes { get; set; }
    }
}
