namespace IoTPE.Gpio.Mqtt;

/// <summary>
/// The pins' topics, in their account's namespace so that the account model (own namespace plus
/// grants) decides who reads and drives them: state <c>/&lt;account&gt;/gpio/&lt;name&gt;</c>, requests
/// <c>/&lt;account&gt;/gpio/&lt;name&gt;/set</c>, refusals <c>/&lt;account&gt;/gpio/&lt;name&gt;/set/error</c>
/// (as a run's failures go to <c>&lt;request topic&gt;/error</c>).
/// </summary>
public static class PinTopics
{
    /// <summary>Every pin's set topic: what the GPIO session subscribes to.</summary>
    public const string SetFilter = "/+/gpio/+/set";

    /// <summary>The retained state topic of a pin.</summary>
    public static string State(string account, string name) => "/" + account + "/gpio/" + name;

    /// <summary>Where a publish drives an output.</summary>
    public static string Set(string account, string name) => State(account, name) + "/set";

    /// <summary>Where a refused set is explained.</summary>
    public static string SetError(string account, string name) => Set(account, name) + "/error";

    /// <summary>Reads <c>/&lt;account&gt;/gpio/&lt;name&gt;/set</c>.</summary>
    public static bool TryParseSet(string topic, out string account, out string name)
    {
        account = name = "";
        string[] levels = topic.Split('/');
        if (levels is not ["", { Length: > 0 } a, "gpio", { Length: > 0 } n, "set"])
        {
            return false;
        }
        account = a;
        name = n;
        return true;
    }
}
