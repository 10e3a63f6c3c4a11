namespace IoTPE.Mqtt;

/// <summary>MQTT 3.1.1 CONNACK return codes (3.1.1 spec 3.2.2.3). Values 6-255 are reserved.</summary>
public enum ConnectReturnCode : byte
{
    /// <summary>0x00 Connection accepted.</summary>
    Accepted = 0,

    /// <summary>0x01 The server does not support the level of the MQTT protocol requested.</summary>
    UnacceptableProtocolVersion = 1,

    /// <summary>0x02 The client identifier is correct UTF-8 but not allowed by the server.</summary>
    IdentifierRejected = 2,

    /// <summary>0x03 The network connection has been made but the MQTT service is unavailable.</summary>
    ServerUnavailable = 3,

    /// <summary>0x04 The data in the user name or password is malformed.</summary>
    BadUserNameOrPassword = 4,

    /// <summary>0x05 The client is not authorized to connect.</summary>
    NotAuthorized = 5,
}
