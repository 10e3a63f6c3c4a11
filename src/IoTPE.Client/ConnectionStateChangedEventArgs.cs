namespace IoTPE.Client;

/// <summary>
/// A change of the client's connection (<see cref="MqttClient.ConnectionStateChanged"/>): a connection came up, one
/// ended, or an attempt failed and the next one is scheduled.
/// </summary>
public sealed class ConnectionStateChangedEventArgs : EventArgs
{
    internal ConnectionStateChangedEventArgs(bool isConnected, bool sessionPresent, Exception? error, TimeSpan? nextAttemptIn)
    {
        IsConnected = isConnected;
        SessionPresent = sessionPresent;
        Error = error;
        NextAttemptIn = nextAttemptIn;
    }

    /// <summary>Whether a connection is up now.</summary>
    public bool IsConnected { get; }

    /// <summary>When connected: whether the broker still had this client's session (CONNACK Session Present).</summary>
    public bool SessionPresent { get; }

    /// <summary>
    /// When not connected: why — the connection attempt's failure (e.g. a <see cref="System.Net.Sockets.SocketException"/>
    /// for a broker that is down, <see cref="MqttRejectedException"/> for a refused CONNECT) or why the connection ended;
    /// null when the client closed it itself.
    /// </summary>
    public Exception? Error { get; }

    /// <summary>When not connected: how long until the next attempt (it may come sooner, see <see cref="MqttClientOptions.ReconnectProbeInterval"/>); null when the client stops.</summary>
    public TimeSpan? NextAttemptIn { get; }
}
