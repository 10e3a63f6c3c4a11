using IoTPE.Bridge;
using IoTPE.Client;
using IoTPE.Mqtt;

namespace IoTPE.Edge.Configuration;

/// <summary>
/// One entry of the configuration file's <c>bridges</c> array: a remote broker (a central
/// <c>iotpe</c> or any MQTT 3.1.1/5.0 broker) that local topics are forwarded to and remote topics
/// received from. Every key is required except <c>tls</c>, <c>protocolVersion</c>, <c>keepAlive</c>,
/// <c>localPrefix</c> and <c>remotePrefix</c>; an empty <c>userName</c> connects without credentials.
/// </summary>
public sealed class BridgeSettings
{
    /// <summary>Names the bridge (letters, digits, <c>-</c>, <c>_</c>): its session, its state file <c>bridge-&lt;name&gt;.db</c>, its <c>$SYS</c> topics.</summary>
    public string? Name { get; set; }

    /// <summary>The remote broker's host name or address.</summary>
    public string? Address { get; set; }

    /// <summary>The remote broker's port.</summary>
    public int? Port { get; set; }

    /// <summary>The client identifier at the remote broker (its persistent session there).</summary>
    public string? ClientId { get; set; }

    /// <summary>The user name at the remote broker; empty for none.</summary>
    public string? UserName { get; set; }

    /// <summary>The password at the remote broker.</summary>
    public string? Password { get; set; }

    /// <summary>TLS to the remote broker (optional).</summary>
    public BridgeTlsSettings? Tls { get; set; }

    /// <summary><c>5.0</c> (default) or <c>3.1.1</c>.</summary>
    public string? ProtocolVersion { get; set; }

    /// <summary>Topic filters of local messages sent to the remote (under the same topic unless the prefixes differ).</summary>
    public List<string>? Forward { get; set; }

    /// <summary>Topic filters of remote messages published locally.</summary>
    public List<string>? Receive { get; set; }

    /// <summary>
    /// Optional: what the bridge's local topics start with, joined as written (as Mosquitto's bridge
    /// <c>local_prefix</c>): <c>forward</c> filters are subscribed behind it and it is taken off before
    /// <see cref="RemotePrefix"/> is put on; received topics get it in place of <see cref="RemotePrefix"/>.
    /// </summary>
    public string? LocalPrefix { get; set; }

    /// <summary>
    /// Optional: what the bridge's remote topics start with, joined as written (as Mosquitto's bridge
    /// <c>remote_prefix</c>): with <c>"edge-7"</c>, a forwarded <c>/acme/x</c> is sent as <c>edge-7/acme/x</c>;
    /// <c>receive</c> filters are subscribed behind it and it is taken off received topics.
    /// </summary>
    public string? RemotePrefix { get; set; }

    /// <summary>Most messages queued for the remote; beyond it QoS 1/2 publishers are refused (0x97).</summary>
    public long? MaxQueuedMessages { get; set; }

    /// <summary>Most bytes queued for the remote; beyond it QoS 1/2 publishers are refused (0x97).</summary>
    public long? MaxQueuedBytes { get; set; }

    /// <summary>Seconds of silence after which the link is checked (MQTT keep alive; optional, default 30): a link cut without a FIN is noticed within about twice this.</summary>
    public int? KeepAlive { get; set; }

    /// <summary>Checks every key; <paramref name="index"/> names the entry when it has no name.</summary>
    /// <exception cref="ConfigurationException">A key is missing or out of range; the message names the bridge and the key.</exception>
    public void Validate(int index)
    {
        string where = string.IsNullOrEmpty(Name) ? $"bridges[{index}]" : $"bridges[{Name}]";
        if (string.IsNullOrEmpty(Name))
        {
            throw new ConfigurationException($"{where}.name is required");
        }
        if (!Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ConfigurationException($"{where}.name may hold only letters, digits, '-' and '_', not '{Name}'");
        }
        if (string.IsNullOrWhiteSpace(Address))
        {
            throw new ConfigurationException($"{where}.address is required");
        }
        if (Port is null)
        {
            throw new ConfigurationException($"{where}.port is required");
        }
        if (Port is < 1 or > 65535)
        {
            throw new ConfigurationException($"{where}.port must be between 1 and 65535, not {Port}");
        }
        if (string.IsNullOrEmpty(ClientId))
        {
            throw new ConfigurationException($"{where}.clientId is required");
        }
        if (UserName is null)
        {
            throw new ConfigurationException($"{where}.userName is required (empty for none)");
        }
        if (Password is null)
        {
            throw new ConfigurationException($"{where}.password is required (empty for none)");
        }
        if (ProtocolVersion is not (null or "5.0" or "3.1.1"))
        {
            throw new ConfigurationException($"{where}.protocolVersion must be \"5.0\" or \"3.1.1\", not \"{ProtocolVersion}\"");
        }
        CheckPrefix(LocalPrefix, where + ".localPrefix");
        CheckPrefix(RemotePrefix, where + ".remotePrefix");
        CheckFilters(Forward, where + ".forward", LocalPrefix);
        CheckFilters(Receive, where + ".receive", RemotePrefix);
        if (Forward!.Count == 0 && Receive!.Count == 0)
        {
            throw new ConfigurationException($"{where}: forward and receive are both empty");
        }
        if (MaxQueuedMessages is null)
        {
            throw new ConfigurationException($"{where}.maxQueuedMessages is required");
        }
        if (MaxQueuedMessages < 1)
        {
            throw new ConfigurationException($"{where}.maxQueuedMessages must be at least 1, not {MaxQueuedMessages}");
        }
        if (MaxQueuedBytes is null)
        {
            throw new ConfigurationException($"{where}.maxQueuedBytes is required");
        }
        if (MaxQueuedBytes < 1)
        {
            throw new ConfigurationException($"{where}.maxQueuedBytes must be at least 1, not {MaxQueuedBytes}");
        }
        if (KeepAlive is < 1 or > 65535)
        {
            throw new ConfigurationException($"{where}.keepAlive must be between 1 and 65535 seconds, not {KeepAlive}");
        }
        Tls?.Validate(where + ".tls");
    }

    private static void CheckPrefix(string? prefix, string key)
    {
        if (prefix is not null && (prefix.AsSpan().ContainsAny('+', '#') || prefix.AsSpan().ContainsAny('\n', '\r', '\0')))
        {
            throw new ConfigurationException($"{key}: '{prefix}' may not hold wildcards or control characters");
        }
    }

    private static void CheckFilters(List<string>? filters, string key, string? prefix)
    {
        if (filters is null)
        {
            throw new ConfigurationException($"{key} is required (an array of topic filters, may be empty)");
        }
        foreach (string filter in filters)
        {
            // The bridge records its filters one per line (to unsubscribe those taken out later).
            if (!TopicFilter.IsValid(filter) || filter.StartsWith("$share/", StringComparison.Ordinal) || filter.AsSpan().ContainsAny('\n', '\r'))
            {
                throw new ConfigurationException($"{key}: '{filter}' is not a valid topic filter");
            }
            if (!TopicFilter.IsValid((prefix ?? "") + filter))
            {
                throw new ConfigurationException($"{key}: '{prefix}{filter}' (the prefix and '{filter}') is not a valid topic filter");
            }
        }
    }

    /// <summary>The bridge's options, its state file in <paramref name="dataFolder"/>.</summary>
    public BridgeOptions ToOptions(string dataFolder, int sysInterval) => new()
    {
        Name = Name!,
        Host = Address!,
        Port = Port!.Value,
        ClientId = ClientId!,
        UserName = string.IsNullOrEmpty(UserName) ? null : UserName,
        Password = string.IsNullOrEmpty(UserName) ? null : Password,
        Tls = Tls?.ToOptions(),
        ProtocolVersion = ProtocolVersion == "3.1.1" ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500,
        Forward = Forward!,
        Receive = Receive!,
        LocalPrefix = LocalPrefix ?? "",
        RemotePrefix = RemotePrefix ?? "",
        MaxQueuedMessages = MaxQueuedMessages!.Value,
        MaxQueuedBytes = MaxQueuedBytes!.Value,
        StatePath = Path.Combine(dataFolder, "bridge-" + Name + ".db"),
        SysInterval = sysInterval,
        KeepAlive = TimeSpan.FromSeconds(KeepAlive ?? 30),
    };
}
