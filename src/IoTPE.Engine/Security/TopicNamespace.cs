namespace IoTPE.Engine.Security;

/// <summary>
/// The account namespaces of the seed's user model: a topic <c>/&lt;account&gt;</c> or
/// <c>/&lt;account&gt;/...</c> belongs to that account. Every topic that starts with <c>/</c> is
/// the accounts' space, whether the account it names exists or not, so that nothing can be put
/// there before an account of that name is created. Also the filter algebra the authorizer
/// needs: whether one topic filter only matches topics another one matches (MQTT 5.0 §4.7).
/// </summary>
internal static class TopicNamespace
{
    /// <summary>
    /// Whether a topic name lies in the accounts' space (it starts with <c>/</c>); for a filter,
    /// whether it matches only topics there. Anonymous clients never publish, retain or receive there.
    /// </summary>
    public static bool IsAccountSpace(string topic) => topic.Length > 0 && topic[0] == '/';

    /// <summary>The account a topic name (or filter) is addressed to, or null when it is not of the form <c>/name/...</c>.</summary>
    public static string? OwnerOf(string topic)
    {
        if (topic.Length < 2 || topic[0] != '/')
        {
            return null;
        }
        int end = topic.IndexOf('/', 1);
        return end < 0 ? topic[1..] : topic[1..end];
    }

    /// <summary>Whether every topic name matching <paramref name="filter"/> also matches <paramref name="covering"/>.</summary>
    public static bool IsCoveredBy(string filter, string covering)
    {
        string[] f = filter.Split('/');
        string[] c = covering.Split('/');
        for (int i = 0; ; i++)
        {
            if (i < c.Length && c[i] == "#")
            {
                return true; // '#' covers this level and everything below, the parent level included
            }
            if (i >= f.Length || i >= c.Length)
            {
                // Both end here; or the filter ends with "x/#" where the covering filter is "x":
                // "x/#" also matches "x" itself but also "x/y", which "x" does not cover.
                return f.Length == c.Length;
            }
            if (f[i] == "#")
            {
                return false; // only '#' covers '#'
            }
            if (c[i] == "+")
            {
                continue; // covers any single level, '+' included
            }
            if (f[i] == "+" || f[i] != c[i])
            {
                return false;
            }
        }
    }
}
