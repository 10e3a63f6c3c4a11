namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>A broker process on a loopback port that tests can kill (SIGKILL) and start again on the same port and data.</summary>
public abstract class TestBroker : IAsyncDisposable
{
    /// <summary>"iotpe" or "mosquitto", for test names and messages.</summary>
    public abstract string Name { get; }

    public abstract int Port { get; }

    /// <summary>Everything the process wrote (all runs).</summary>
    public abstract string Output { get; }

    /// <summary>SIGKILL: no chance to flush anything.</summary>
    public abstract void Kill();

    /// <summary>Starts the process again, same port and data folder.</summary>
    public abstract Task RestartAsync();

    public abstract ValueTask DisposeAsync();

    public override string ToString() => Name;
}
