// A real broker on the MySQL store with a TCP listener, for tests that kill it with SIGKILL while
// clients publish and restart it on the same database (the central as a process, without the engine).
//
// Usage: IoTPE.Broker.Storage.MySql.CrashHelper <connection-string> <port>
// Output, one line per event, each ending in '.' so a reader can tell a whole line from a cut one:
//   listening <port>.   the store is open, the state loaded, the listener bound
// The store's own log lines (server unreachable, back) go to standard error.
// Exit code 3 with a message on standard error: the store could not be opened (server unreachable,
// database taken by another store).
using System.Globalization;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Broker.Storage.MySql;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: IoTPE.Broker.Storage.MySql.CrashHelper <connection-string> <port>");
    return 2;
}

MySqlBrokerStore store;
try
{
    store = new MySqlBrokerStore(new MySqlBrokerStoreOptions
    {
        ConnectionString = args[0],
        Log = line => Console.Error.WriteLine(line),
        MaxRetryDelay = TimeSpan.FromMilliseconds(500),
    });
}
catch (MySqlBrokerStoreException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 3;
}

int port = int.Parse(args[1], CultureInfo.InvariantCulture);
var options = new BrokerOptions
{
    Listeners = [new ListenerOptions { Address = "127.0.0.1", Port = port }],
    // The test queues 20,000 messages for a disconnected subscriber: no pausing for it.
    QueueBackpressureMessages = 1_000_000,
    MaxQueuedMessages = 1_000_000,
    SysInterval = 0,
};
await using var broker = new Broker(options, store, new AnonymousAuthenticator(allowAnonymous: true));
await broker.StartAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"listening {port}."));
await Task.Delay(Timeout.Infinite);
return 0;
