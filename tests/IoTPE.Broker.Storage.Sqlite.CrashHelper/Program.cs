// Writes to a SqliteBrokerStore as fast as it takes them until it is killed, the way a broker under
// a stream of QoS 1 publishes would: a message and its delivery per publish, a bounded number in
// flight (client flow control), and once a delivery is durable, half of them are acknowledged by the
// subscriber (delivery and message deleted).
//
// Usage: IoTPE.Broker.Storage.Sqlite.CrashHelper <data-folder> <full|normal>
// Output, one line per event, each ending in '.' so a reader can tell a whole line from a cut one:
//   ready.            the store is open
//   durable <id>.     message <id> and its delivery are committed
//   deleted <id>.     the deletion of message <id> and its delivery is committed
//   failed <id>.      a WhenDurable reported false (the test treats it as a failure)
using System.Globalization;
using IoTPE.Broker.Storage;
using IoTPE.Broker.Storage.Sqlite;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: IoTPE.Broker.Storage.Sqlite.CrashHelper <data-folder> <full|normal>");
    return 2;
}

var options = new SqliteBrokerStoreOptions
{
    SyncMode = args[1] == "normal" ? SqliteSyncMode.Normal : SqliteSyncMode.Full,
};
var store = new SqliteBrokerStore(args[0], options);
store.Load();
store.SaveSession(new StoredSession("subscriber", 5, uint.MaxValue, null, null));

var output = TextWriter.Synchronized(Console.Out);
var brokerLock = new Lock();
using var inFlight = new SemaphoreSlim(500);
output.WriteLine("ready.");

for (long id = 1; ; id++)
{
    inFlight.Wait();
    long messageId = id;
    lock (brokerLock)
    {
        store.InsertMessage(new StoredMessage(messageId, Packet(messageId), null, "publisher", null));
        store.InsertDelivery(new StoredDelivery("subscriber", messageId, messageId, 1, false, false, []));
        store.WhenDurable(durable =>
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(durable ? "durable" : "failed")} {messageId}."));
            if (messageId % 2 == 0)
            {
                lock (brokerLock)
                {
                    store.DeleteDelivery("subscriber", messageId);
                    store.DeleteMessage(messageId);
                    store.WhenDurable(deleted =>
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(deleted ? "deleted" : "failed")} {messageId}.")));
                }
            }
            inFlight.Release();
        });
    }
}

static byte[] Packet(long id)
{
    var packet = new byte[100];
    packet[0] = 0x32;
    BitConverter.TryWriteBytes(packet.AsSpan(92), id);
    return packet;
}
