namespace IoTPE.Mqtt;

/// <summary>
/// The protocol level carried in CONNECT (spec 3.1.2.2). MQTT 3.1 ("MQIsdp", level 3) is decoded and
/// otherwise treated exactly like MQTT 3.1.1.
/// </summary>
public enum MqttProtocolVersion : byte
{
    /// <summary>MQTT 3.1, protocol name "MQIsdp", level 3. Handled like 3.1.1 after CONNECT.</summary>
    V310 = 3,

    /// <summary>MQTT 3.1.1, protocol name "MQTT", level 4.</summary>
    V311 = 4,

    /// <summary>MQTT 5.0, protocol name "MQTT", level 5.</summary>
    V500 = 5,
}
