namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>The connection changes a client reported (<see cref="MqttClient.ConnectionStateChanged"/>), with waits for them.</summary>
public sealed class ConnectionLog
{
    private readonly SignalledList<ConnectionStateChangedEventArgs> _changes = new();

    /// <summary>Records <paramref name="client"/>'s changes from now on (attach before starting it to see them all).</summary>
    public ConnectionLog(MqttClient client) => client.ConnectionStateChanged += (_, change) => _changes.Add(change);

    public IReadOnlyList<ConnectionStateChangedEventArgs> Changes => _changes.Items;

    /// <summary>Changes to "not connected" because of an error: failed connection attempts and connections that ended.</summary>
    public int Failures => Changes.Count(c => !c.IsConnected && c.Error is not null);

    /// <summary>Waits until the client reported at least <paramref name="count"/> failures (see <see cref="Failures"/>).</summary>
    public async Task WaitForFailuresAsync(int count, TimeSpan timeout)
    {
        bool failed = await _changes.WaitUntilAsync(changes => changes.Count(c => !c.IsConnected && c.Error is not null) >= count, timeout);
        Assert.True(failed, $"{Failures} connection failures reported, expected {count}");
    }

    /// <summary>Waits until the client reported a connection that came up, after <paramref name="after"/> earlier changes.</summary>
    public async Task<ConnectionStateChangedEventArgs> WaitForConnectionAsync(int after, TimeSpan timeout)
    {
        bool connected = await _changes.WaitUntilAsync(changes => changes.Skip(after).Any(c => c.IsConnected), timeout);
        Assert.True(connected, "no connection came up");
        return Changes.Skip(after).First(c => c.IsConnected);
    }
}
