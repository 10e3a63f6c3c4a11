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

    // A store that cannot be read (a failing disk; the central's database server away) must cost
    // the backlog only time: the deliveries wait in order, the broker serves everyone else, and
    // the same connection gets them once reads work again (Housekeeping retries every second).
    [Fact]
    public async Task Payloads_the_store_cannot_read_back_wait_in_order_while_the_broker_serves_others()
    {
        const int Messages = 20; // 12 paged out: the budget holds the newest 8
        string[] payloads = [.. Enumerable.Range(0, Messages).Select(Payload)];
        using var data = new TempFolder();
        FailingStore? store = null;
        await using RunningBroker broker = await StartAsync(data.Path, s => store = new FailingStore(s));
        await QueuePagedOutBacklogAsync(broker, "unread", payloads);

        store!.FailingPayloadReads = true;
        long readsBefore = broker.Broker.Counters.PayloadsReadBack;
        // A raw client, which does not reconnect: the broker must keep its connection and send on it.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "unread");
        Task<List<string>> draining = subscriber.ReceiveAtLeastOnceAsync(Messages, Timeout);
        // Tried again and again (once a second), and meanwhile another client is served.
        await WaitUntilAsync(() => broker.Broker.Counters.PayloadsReadBack >= readsBefore + 2, () => "the failed read was not tried again");
        ProcessRun other = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-r", "-t", "other/t", "-m", "served");
        Assert.True(other.ExitCode == 0, other.StandardError);
        ProcessRun otherRead = await MosquittoClients.RunOnceAsync(broker.Port, "-q", "1", "-t", "other/t", "-C", "1", "-W", "10");
        Assert.Equal("served", otherRead.StandardOutput.Trim());
        Assert.False(draining.IsCompleted, "the subscriber finished while its payloads could not be read");

        store.FailingPayloadReads = false;
        Assert.Equal(payloads, await draining);
        Assert.Equal(0, broker.Broker.Counters.MessagesDropped);
    }

    // A payload the store answers it does not hold can never be sent: its delivery is dropped
    // (counted and logged) rather than block the queue behind it for good.
    [Fact]
    public async Task Deliveries_whose_payload_is_missing_from_the_store_are_dropped_and_the_rest_still_arrive()
    {
        const int Messages = 20;
        const int Resident = Budget / PayloadSize;
        string[] payloads = [.. Enumerable.Range(0, Messages).Select(Payload)];
        using var data = new TempFolder();
        FailingStore? store = null;
        await using RunningBroker broker = await StartAsync(data.Path, s => store = new FailingStore(s));
        await QueuePagedOutBacklogAsync(broker, "missing", payloads);

        store!.MissingPayloads = true;
        ProcessRun received = await MosquittoClients.RunOnceAsync(broker.Port,
            "-i", "missing", "-c", "-q", "1", "-t", "q/#", "-C", Resident.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "25");
        Assert.True(received.ExitCode == 0, received.StandardError);
        Assert.Equal(payloads[(Messages - Resident)..], received.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(Messages - Resident, broker.Broker.Counters.MessagesDropped);
    }

    // Parks a persistent subscriber on q/# and queues the payloads for it, the oldest paged out.
    private static async Task QueuePagedOutBacklogAsync(RunningBroker broker, string clientId, string[] payloads)
    {
        await ParkSubscriberAsync(broker.Port, clientId, "q/#");
        ProcessRun published = await ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q", "1", "-t", "q/t", "-l"],
            Timeout, standardInput: string.Join('\n', payloads) + "\n");
        Assert.True(published.ExitCode == 0, published.StandardError);
        await WaitUntilAsync(() => broker.Broker.Counters.PayloadsPagedOut >= payloads.Length - (Budget / PayloadSize), () => $"{broker.Broker.Counters.PayloadsPagedOut} paged out");
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

    private static Task<RunningBroker> StartAsync(string dataFolder, Func<Storage.IBrokerStore, Storage.IBrokerStore>? wrapStore = null) =>
        RunningBroker.StartAsync(o =>
        {
            o.MaxResidentPayloadBytes = Budget;
            o.MaxQueuedBytesPerAccount = 64L * 1024 * 1024;
        }, dataFolder, wrapStore: wrapStore);

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
