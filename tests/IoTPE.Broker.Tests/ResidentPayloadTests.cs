using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// Memory is bounded by configuration, not by traffic: the payloads of stored messages beyond
/// <see cref="BrokerOptions.MaxResidentPayloadBytes"/> stay on disk, a restart loads none of them,
/// and they are read back, complete and in order, when they are delivered. Real broker, real SQLite
/// store, real mosquitto clients.
/// </summary>
public sealed class ResidentPayloadTests
{
    private const int Budget = 64 * 1024;
    private const int PayloadSize = 8 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_backlog_beyond_the_budget_stays_on_disk_across_a_restart_and_arrives_complete_and_in_order()
    {
        const int Messages = 200; // 1.6 MB of payloads against a 64 KiB budget
        string[] payloads = [.. Enumerable.Range(0, Messages).Select(Payload)];
        using var data = new TempFolder();

        await using (RunningBroker broker = await StartAsync(data.Path))
        {
            await ParkSubscriberAsync(broker.Port, "backlog", "q/#");
            ProcessRun published = await ProcessRun.RunAsync("mosquitto_pub",
                ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q", "1", "-t", "q/t", "-l"],
                Timeout, standardInput: string.Join('\n', payloads) + "\n");
            Assert.True(published.ExitCode == 0, published.StandardError);
            await WaitUntilAsync(() => broker.Broker.Counters.ResidentPayloadBytes <= Budget, () => $"{broker.Broker.Counters.ResidentPayloadBytes} payload bytes in memory");
            Assert.True(broker.Broker.Counters.PayloadsPagedOut >= Messages - (Budget / PayloadSize), $"{broker.Broker.Counters.PayloadsPagedOut} paged out");
        }

        await using (RunningBroker restarted = await StartAsync(data.Path))
        {
            // Nothing stored is loaded at start-up: the backlog's payloads are all on disk.
            Assert.Equal(0, restarted.Broker.Counters.ResidentPayloadBytes);

            ProcessRun received = await MosquittoClients.RunOnceAsync(restarted.Port,
                "-i", "backlog", "-c", "-q", "1", "-t", "q/#", "-C", Messages.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "25");
            Assert.True(received.ExitCode == 0, received.StandardError);
            Assert.Equal(payloads, received.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.True(restarted.Broker.Counters.PayloadsReadBack >= Messages, $"{restarted.Broker.Counters.PayloadsReadBack} read back");
            Assert.True(restarted.Broker.Counters.ResidentPayloadBytes <= Budget);
        }
    }

    [Fact]
    public async Task Retained_messages_beyond_the_budget_are_read_back_for_each_new_subscriber()
    {
        const int Topics = 40;
        using var data = new TempFolder();
        await using RunningBroker broker = await StartAsync(data.Path);
        for (int i = 0; i < Topics; i++)
        {
            ProcessRun published = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-r", "-t", $"r/{i:D2}", "-m", Payload(i));
            Assert.True(published.ExitCode == 0, published.StandardError);
        }
        await WaitUntilAsync(() => broker.Broker.Counters.ResidentPayloadBytes <= Budget, () => $"{broker.Broker.Counters.ResidentPayloadBytes} payload bytes in memory");

        for (int subscriber = 0; subscriber < 2; subscriber++)
        {
            ProcessRun received = await MosquittoClients.RunOnceAsync(broker.Port, "-q", "1", "-t", "r/#", "-v", "-C", Topics.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "25");
            Assert.True(received.ExitCode == 0, received.StandardError);
            string[] expected = [.. Enumerable.Range(0, Topics).Select(i => $"r/{i:D2} {Payload(i)}")];
            Assert.Equal(expected, received.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }
        Assert.True(broker.Broker.Counters.PayloadsReadBack >= Topics, $"{broker.Broker.Counters.PayloadsReadBack} read back");
    }

    [Fact]
    public async Task A_large_backlog_goes_out_as_the_subscriber_reads_it_not_into_memory_all_at_once()
    {
        const int Messages = 30; // 30 MB; the output limit (outputBackpressureBytes) is 1 MiB
        string[] payloads = [.. Enumerable.Range(0, Messages).Select(i => $"{i:D4}:" + new string('x', 1_000_000))];
        using var data = new TempFolder();
        await using RunningBroker broker = await StartAsync(data.Path);
        using (RawConnection parked = await ConnectAsync(broker.Port, "slow-reader"))
        {
            await parked.SendAsync(RawMqtt.Subscribe("big/#"));
            Assert.Equal(0x90, (await parked.ReadPacketAsync(Timeout)).Type);
        }
        using (RawConnection publisher = await ConnectAsync(broker.Port, "big-publisher"))
        {
            for (int i = 0; i < Messages; i++)
            {
                await publisher.SendAsync(RawMqtt.Publish("big/t", (ushort)(i + 1), payloads[i], version: 4));
                Assert.Equal(0x40, (await publisher.ReadPacketAsync(Timeout)).Type);
            }
        }

        long sentBefore = broker.Broker.Counters.MessagesSent;
        using RawConnection subscriber = await ConnectAsync(broker.Port, "slow-reader");
        await WaitUntilAsync(() => broker.Broker.Counters.MessagesSent > sentBefore, () => "nothing was sent");
        await Task.Delay(500); // the subscriber reads nothing meanwhile: what could go out, has
        long sentUnread = broker.Broker.Counters.MessagesSent - sentBefore;
        // What the kernel's socket buffers take (a few MB on loopback) plus one output limit; not the backlog.
        Assert.True(sentUnread < 20, $"{sentUnread} of {Messages} one-megabyte messages were sent to a client that read nothing");

        Assert.Equal(payloads, await subscriber.ReceiveAtLeastOnceAsync(Messages, Timeout));
    }

    private static async Task<RawConnection> ConnectAsync(int port, string clientId)
    {
        RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, version: 4, cleanStart: false));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Timeout);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connack[1]);
        return connection;
    }

    private static Task<RunningBroker> StartAsync(string dataFolder) =>
        RunningBroker.StartAsync(o =>
        {
            o.MaxResidentPayloadBytes = Budget;
            o.MaxQueuedBytesPerAccount = 64L * 1024 * 1024;
        }, dataFolder);

    // A distinct line per index, so order and content are both checked.
    private static string Payload(int index) => $"{index:D4}:" + new string((char)('a' + index % 26), PayloadSize - 5);

    private static async Task ParkSubscriberAsync(int port, string clientId, string filter)
    {
        using OutputCollector subscriber = await MosquittoClients.StartSubscriberAsync(port, "-i", clientId, "-c", "-q", "1", "-t", filter);
        subscriber.Kill(); // away, its persistent session stays and queues
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> describe)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out: " + describe());
            await Task.Delay(10);
        }
    }
}
