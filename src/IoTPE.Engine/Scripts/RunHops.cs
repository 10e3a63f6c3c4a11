using IoTPE.Broker;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// How many script publishes stand between a run request and the client request that started the
/// chain. Carried as a User Property that the broker strips from every network client's PUBLISH
/// (see <see cref="ApplicationMessage.InternalUserPropertyPrefix"/>), so only the engine sets it and
/// a client cannot forge a lower count; it is stored with the message, so it survives a restart.
/// </summary>
internal static class RunHops
{
    /// <summary>The User Property's name.</summary>
    public const string PropertyName = ApplicationMessage.InternalUserPropertyPrefix + "run-hops";

    /// <summary>The hop count of a run request: 0 for a client's request.</summary>
    public static int Of(ApplicationMessage message)
    {
        if (message.Properties is { } properties)
        {
            foreach (UserProperty property in properties.UserProperties)
            {
                if (property.Name == PropertyName && int.TryParse(property.Value, System.Globalization.CultureInfo.InvariantCulture, out int hops) && hops >= 0)
                {
                    return hops;
                }
            }
        }
        return 0;
    }

    /// <summary>The properties of a message a run at hop <paramref name="hops"/> publishes to a run topic.</summary>
    public static PublishProperties Next(int hops) => new()
    {
        UserProperties = [new UserProperty(PropertyName, (hops + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))],
    };

    /// <summary>Whether <paramref name="topic"/> starts a run: <c>/&lt;account&gt;/run|runfile|cmd/&lt;name&gt;</c>; gives the account.</summary>
    public static bool IsRunTopic(string topic, out string account) => EngineTopic.StartsRunOf(topic, out account);
}
