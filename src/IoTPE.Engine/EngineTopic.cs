using IoTPE.Engine.Control;
using IoTPE.Engine.Scripts;

namespace IoTPE.Engine;

/// <summary>
/// A topic of the engine's grammar, parsed once: the account whose namespace it is in, what it asks
/// for, and the script or request it names. The only place that splits the engine's topics into levels.
/// </summary>
/// <param name="Kind">What the topic asks for.</param>
/// <param name="Account">The namespace's account (empty when a run topic's first level is empty).</param>
/// <param name="Name">The script the topic names (empty when its level is empty); null for a grant request or <c>script/list</c>.</param>
/// <param name="Request">The grant action or the script management request; null for runs and commands.</param>
internal readonly record struct EngineTopic(EngineTopicKind Kind, string Account, string? Name, string? Request = null)
{
    /// <summary>Whether the topic starts a run: a run, runfile or command topic with a non-empty account and name.</summary>
    public bool StartsRun => Kind is (EngineTopicKind.Run or EngineTopicKind.RunFile or EngineTopicKind.Command) && Account.Length > 0 && Name!.Length > 0;

    /// <summary>The command topic a <see cref="EngineTopicKind.CommandCancel"/> topic cancels a call of (and that of a command itself).</summary>
    public string CommandTopic => "/" + Account + "/cmd/" + Name;

    /// <summary>
    /// Parses <paramref name="topic"/>: run and command topics (any level may be empty, as '+' matches an
    /// empty level), grant requests and script management requests; false for every other topic.
    /// </summary>
    public static bool TryParse(string topic, out EngineTopic parsed)
    {
        parsed = default;
        if (topic.Length < 2 || topic[0] != '/' || !MayBeEngineTopic(topic))
        {
            return false;
        }
        string[] levels = topic.Split('/');
        string account = levels[1];
        switch (levels)
        {
            case [_, _, "run", var name]:
                parsed = new EngineTopic(EngineTopicKind.Run, account, name);
                return true;
            case [_, _, "runfile", var name]:
                parsed = new EngineTopic(EngineTopicKind.RunFile, account, name);
                return true;
            case [_, _, "cmd", var name]:
                parsed = new EngineTopic(EngineTopicKind.Command, account, name);
                return true;
            case [_, _, "cmd", var name, "cancel"]:
                parsed = new EngineTopic(EngineTopicKind.CommandCancel, account, name);
                return true;
        }
        if (levels.Length == 3 && GrantControl.IsControlTopic(levels[2]))
        {
            parsed = new EngineTopic(EngineTopicKind.GrantControl, account, null, levels[2]);
            return true;
        }
        if (levels.Length >= 4 && levels[2] == "script" && ScriptManagement.IsRequest(levels.AsSpan(3)))
        {
            parsed = new EngineTopic(EngineTopicKind.ScriptControl, account, levels.Length == 5 ? levels[4] : null, levels[3]);
            return true;
        }
        return false;
    }

    // The broker asks about every PUBLISH (ProcessEngine.OnPublish), and most topics in an account's
    // namespace are a device's, not the engine's: those are told apart by their second level,
    // without splitting the topic into strings. True for a superset of what TryParse accepts.
    private static bool MayBeEngineTopic(string topic)
    {
        ReadOnlySpan<char> afterOwner = topic.AsSpan(1);
        int slash = afterOwner.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }
        ReadOnlySpan<char> second = afterOwner[(slash + 1)..];
        int end = second.IndexOf('/');
        if (end >= 0)
        {
            second = second[..end];
        }
        return second is "run" or "runfile" or "cmd" or "script" ||
            second.StartsWith("grant_", StringComparison.Ordinal) || second.StartsWith("revoke_", StringComparison.Ordinal);
    }

    /// <summary>Whether <paramref name="topic"/> starts a run (<see cref="StartsRun"/>); gives its account.</summary>
    public static bool StartsRunOf(string topic, out string account)
    {
        account = "";
        if (!TryParse(topic, out EngineTopic parsed) || !parsed.StartsRun)
        {
            return false;
        }
        account = parsed.Account;
        return true;
    }

    /// <summary>The account of <c>/&lt;account&gt;/...</c>; empty for a topic outside every account's namespace.</summary>
    public static string AccountOf(string topic)
    {
        int end = topic.Length > 1 && topic[0] == '/' ? topic.IndexOf('/', 1) : -1;
        return end > 1 ? topic[1..end] : "";
    }
}
