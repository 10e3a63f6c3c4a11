using System.Diagnostics;
using System.Globalization;
using IoTPE.Broker.Storage;
using IoTPE.Broker.Storage.MySql;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.TestSupport;

// The broker's store under a durable QoS 1 stream: each message is inserted with its delivery to a
// persistent subscriber, and once that is durable, deleted with it (the subscriber acknowledged),
// with a callback per message as the broker asks and 2,000 messages in flight. The same load runs
// through the MySQL store on a private MariaDB server and through the SQLite store (sync full), in
// that order, in the same run: the machine is shared, so only the ratio means something.
//
// Usage: dotnet run -c Release [-- <messages>]   (default 100,000)
int messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;

await using MariaDbServer server = await MariaDbServer.StartAsync();
await server.ExecuteAsRootAsync("CREATE DATABASE bench");
double mysql;
await using (var store = new MySqlBrokerStore(new MySqlBrokerStoreOptions { ConnectionString = server.ConnectionString("root", "", "bench"), Log = _ => { } }))
{
    mysql = await StoreLoad.RunAsync(store, messages);
}
using var folder = new TempFolder();
double sqlite;
await using (var store = new SqliteBrokerStore(folder.Path, new SqliteBrokerStoreOptions { Log = _ => { } }))
{
    sqlite = await StoreLoad.RunAsync(store, messages);
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{messages:N0} messages: MySQL (MariaDB) {mysql:N0} store operations/s; SQLite (sync full) {sqlite:N0} operations/s; ratio {mysql / sqlite:P0}"));

/// <summary>The load: a window of messages in flight, as publishers and a persistent subscriber keep.</summary>
internal static class StoreLoad
{
    private const int Window = 2000;

    /// <summary>Returns store operations (inserts and deletes) per second; throws if any callback was told false.</summary>
    public static async Task<double> RunAsync(IBrokerStore store, int messages)
    {
        store.Load();
        using var inFlight = new SemaphoreSlim(Window);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int failures = 0;
        int completed = 0;
        var gate = new Lock(); // the broker calls its store under one lock
        var watch = Stopwatch.StartNew();
        for (long id = 1; id <= messages; id++)
        {
            await inFlight.WaitAsync();
            long message = id;
            lock (gate)
            {
                store.InsertMessage(new StoredMessage(message, Packet(message), null, "publisher-1", null));
                store.InsertDelivery(new StoredDelivery("subscriber", message, message, 1, false, false, []));
                store.WhenDurable(durable =>
                {
                    if (!durable)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    lock (gate)
                    {
                        store.DeleteDelivery("subscriber", message);
                        store.DeleteMessage(message);
                        store.WhenDurable(deleted =>
                        {
                            if (!deleted)
                            {
                                Interlocked.Increment(ref failures);
                            }
                            inFlight.Release();
                            if (Interlocked.Increment(ref completed) == messages)
                            {
                                done.SetResult();
                            }
                        });
                    }
                });
            }
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        return failures == 0
            ? messages * 4 / watch.Elapsed.TotalSeconds
            : throw new InvalidOperationException($"{failures} callbacks were told false");
    }

    private static byte[] Packet(long id)
    {
        var packet = new byte[100];
        packet[0] = 0x32;
        BitConverter.TryWriteBytes(packet.AsSpan(92), id);
        return packet;
    }
}
