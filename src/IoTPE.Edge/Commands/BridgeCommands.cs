using System.CommandLine;
using System.Globalization;
using IoTPE.Sqlite;

namespace IoTPE.Edge.Commands;

/// <summary><c>iotpe bridge status</c>: the bridges' queues as the data folder holds them.</summary>
internal static class BridgeCommands
{
    public static Command Build()
    {
        var bridge = new Command("bridge", "Look at the bridges to remote brokers.");
        bridge.Subcommands.Add(BuildStatus());
        return bridge;
    }

    private static Command BuildStatus()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string?>("NAME") { Description = "One bridge; default: every bridge of the data folder.", Arity = ArgumentArity.ZeroOrOne };
        var status = new Command("status",
            "Show each bridge's queue from the data folder, read-only (the broker may be running): queued messages and bytes, " +
            "the oldest queued message's age, and the publishes its client holds that the remote has not completed. " +
            "Whether the bridge is connected is known only to the running broker ($SYS/broker/bridge/<name>/connected).")
        { name, data };
        status.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string? only = parseResult.GetValue(name);
            List<StoredBridgeState> bridges;
            try
            {
                bridges = StoredBridgeState.ReadAll(parseResult.GetRequiredValue(data));
            }
            catch (SqliteStoreException e)
            {
                error.WriteLine($"iotpe: {e.Message}");
                return 1;
            }
            if (only is not null)
            {
                bridges = [.. bridges.Where(b => b.Name == only)];
                if (bridges.Count == 0)
                {
                    error.WriteLine($"iotpe: no bridge '{only}' in the data folder");
                    return 1;
                }
            }
            if (bridges.Count == 0)
            {
                output.WriteLine("no bridges in the data folder");
                return 0;
            }
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (StoredBridgeState bridge in bridges)
            {
                output.WriteLine($"bridge {bridge.Name}");
                output.WriteLine($"  queued messages: {bridge.QueuedMessages.ToString(CultureInfo.InvariantCulture)}");
                output.WriteLine($"  queued bytes: {bridge.QueuedBytes.ToString(CultureInfo.InvariantCulture)}");
                string age = bridge.OldestStoredAtUnixMs is { } storedAt
                    ? Math.Max(0, (now - storedAt) / 1000).ToString(CultureInfo.InvariantCulture) + " s"
                    : bridge.QueuedMessages == 0 ? "0 s" : "unknown";
                output.WriteLine($"  oldest queued age: {age}");
                string pending = bridge.PendingInClient is { } count ? count.ToString(CultureInfo.InvariantCulture)
                    : bridge.StateFileInUse ? "not readable now (the running broker holds bridge-" + bridge.Name + ".db exclusively)" : "no state file";
                output.WriteLine($"  pending at the remote client: {pending}");
                output.WriteLine($"  connected: not knowable from the files (read $SYS/broker/bridge/{bridge.Name}/connected)");
            }
            return 0;
        });
        return status;
    }
}
