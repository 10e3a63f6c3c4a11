// Uses IoTPE.Client the way an application would, until IoTPE.Client.Tests kills it with SIGKILL, and says what
// happened, one line per event. Each line ends in '.', so a reader can tell a whole line from one cut by the kill.
//
// Usage:
//   IoTPE.Client.CrashHelper publish <port> <3|5> <state-file> <client-id> <topic> <first> <last> <burst> [<suicide>]
//       Publishes the numbers first..last (payload: the number) at QoS 2 to <topic>, <burst> of them every 10 ms,
//       without waiting for them (the client commits them in order and sends them through its window), and prints
//       "acked <n>." when the broker took each one. With <suicide>, it SIGKILLs itself right after that many
//       acknowledgements: a crash at a known point, however fast the broker is.
//       Prints "done." when all are acknowledged, then exits.
//   IoTPE.Client.CrashHelper resume <port> <3|5> <state-file> <client-id> <topic> <first> <last> <in-flight>
//       The resume-after-crash pattern of the README: publishes first..last at QoS 2 with the message identity
//       "m-<n>" through Publish, keeping <in-flight> of them unacknowledged, and prints "stored <n> <S|P|D>." when
//       Publish's Stored completed (S: stored now, P: already stored and pending, D: already delivered) and
//       "delivered <n>." when Delivered did. The test restarts it from the first number whose "stored" it did not see
//       (or earlier): what the state file already holds is not added twice. When all are delivered and nothing is
//       pending, publishes the marker "0" (no identity) and prints "done." once it is delivered.
//   IoTPE.Client.CrashHelper consume <port> <3|5> <state-file> <client-id> <filter>
//       Subscribes at QoS 2 and prints "handled <n> <attempt> <redelivery>." from the handler. Runs until killed.
// Both print "ready." once the state file is open and "connected." once a connection is up.
using System.Globalization;
using System.Text;
using IoTPE.Client;
using IoTPE.Mqtt;

if (args.Length < 5 || args[0] is not ("publish" or "consume" or "resume"))
{
    Console.Error.WriteLine("usage: IoTPE.Client.CrashHelper publish|consume <port> <3|5> <state-file> <client-id> ...");
    return 2;
}

var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var outputLock = new Lock();
void Say(string line)
{
    lock (outputLock)
    {
        output.WriteLine(line);
    }
}

var options = new MqttClientOptions
{
    Host = "127.0.0.1",
    Port = int.Parse(args[1], CultureInfo.InvariantCulture),
    ProtocolVersion = args[2] == "3" ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500,
    StatePath = args[3],
    ClientId = args[4],
    ReconnectBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)),
};
await using var client = new MqttClient(options);

// Handlers are registered before the client starts, as a persistent session's messages may come at once.
Task subscribed = args[0] == "consume"
    ? client.SubscribeAsync(args[5], (message, _) =>
    {
        Say(string.Create(CultureInfo.InvariantCulture, $"handled {message.GetPayloadAsString()} {message.DeliveryAttempt} {(message.IsRedelivery ? 1 : 0)}."));
        return ValueTask.CompletedTask;
    })
    : Task.CompletedTask;

await client.StartAsync();
Say("ready.");
await client.WaitUntilConnectedAsync();
Say("connected.");

if (args[0] == "consume")
{
    await subscribed;
    Say("subscribed.");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

if (args[0] == "resume")
{
    string resumeTopic = args[5];
    int from = int.Parse(args[6], CultureInfo.InvariantCulture);
    int to = int.Parse(args[7], CultureInfo.InvariantCulture);
    using var slots = new SemaphoreSlim(int.Parse(args[8], CultureInfo.InvariantCulture));
    var delivered = new List<Task>();
    for (int n = from; n <= to; n++)
    {
        await slots.WaitAsync();
        int number = n;
        PublishResult result = client.Publish(resumeTopic, number.ToString(CultureInfo.InvariantCulture), messageId: "m-" + number.ToString(CultureInfo.InvariantCulture));
        _ = result.Stored.ContinueWith(
            t => Say(string.Create(CultureInfo.InvariantCulture, $"stored {number} {t.Result switch { PublishStatus.Stored => "S", PublishStatus.AlreadyStored => "P", _ => "D" }}.")),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
        delivered.Add(result.Delivered.ContinueWith(
            t =>
            {
                slots.Release();
                t.GetAwaiter().GetResult();
                Say(string.Create(CultureInfo.InvariantCulture, $"delivered {number}."));
            },
            TaskScheduler.Default));
    }

    await Task.WhenAll(delivered);

    // Publishes stored by an earlier run below <first> are sent by the client itself: wait for them too, then send a
    // marker ("0", no identity) behind everything, so a subscriber that has the marker has all the rest.
    while ((await client.GetPendingPublishesAsync()).Count > 0)
    {
        await Task.Delay(20);
    }

    await client.Publish(resumeTopic, "0").Delivered;
    Say("done.");
    return 0;
}

string topic = args[5];
int first = int.Parse(args[6], CultureInfo.InvariantCulture);
int last = int.Parse(args[7], CultureInfo.InvariantCulture);
int burst = int.Parse(args[8], CultureInfo.InvariantCulture);
int suicide = args.Length > 9 ? int.Parse(args[9], CultureInfo.InvariantCulture) : 0;
int ackedCount = 0;
var acknowledged = new List<Task>();
for (int n = first; n <= last; n++)
{
    if ((n - first) % burst == burst - 1)
    {
        await Task.Delay(10);
    }

    int number = n;
    Task published = client.PublishAsync(topic, number.ToString(CultureInfo.InvariantCulture));
    acknowledged.Add(published.ContinueWith(
        t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                Say(string.Create(CultureInfo.InvariantCulture, $"acked {number}."));
                if (Interlocked.Increment(ref ackedCount) == suicide)
                {
                    System.Diagnostics.Process.GetCurrentProcess().Kill(); // SIGKILL
                }
            }
        },
        TaskScheduler.Default));
}

await Task.WhenAll(acknowledged);
Say("done.");
return 0;
