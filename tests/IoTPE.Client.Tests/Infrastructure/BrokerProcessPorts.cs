namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>Loopback ports for tests that need nothing (yet) listening.</summary>
public static class BrokerProcessPorts
{
    /// <summary>A port nothing listens on right now.</summary>
    public static int Unused() => BrokerProcess.FreePort();
}
