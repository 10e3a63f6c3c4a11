using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.Mqtt;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A publisher paused for a subscriber that does not keep up resumes on the subscriber's signal
/// (it read, it acknowledged, it went away), not on a timer: the broker's clock is a
/// <see cref="ManualClock"/> that never moves here, so neither the 200 ms bound of a pause nor any
/// polling delay can end one. (Before, the paused publisher polled with a 1 ms delay on the broker's
/// clock, and these tests hung.)
/// </summary>
public sealed class ConsumerReliefTests
{
    private const int Messages = 20_000;
    private const int PayloadSize = 200;

    // PUBLISH, QoS 0, topic "slow/t": fixed header (3 bytes: 0x30 and remaining length 208) + 8 + payload.
    private const int PublishPacketSize = 3 + 8 + PayloadSize;

    private static readonly TimeSpan RealWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_paused_publisher_resumes_when_the_subscriber_reads_again_without_the_clock_moving()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.OutputBackpressureBytes = 64 * 1024, time: clock);
        try
        {
            using TcpClient subscriber = await SubscribeAsync(broker.Port, "relief-sub", qos: 0);
            using TcpClient publisher = await ConnectAsync(broker.Port, "relief-pub");
            Task publishing = PublishQoS0Async(publisher.GetStream(), Messages);

            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 1, "the publisher never paused for the subscriber that does not read");
            Assert.True(broker.Broker.Counters.MessagesReceived < Messages);

            long bytes = await ReadAsync(subscriber.GetStream(), (long)Messages * PublishPacketSize);
            await publishing.WaitAsync(RealWait);
            Assert.Equal((long)Messages * PublishPacketSize, bytes);
            Assert.Equal(0, broker.Broker.Counters.MessagesDropped);
        }
        finally
        {
            // A failed test must fail, not hang: a pause the signal missed ends on the clock.
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task A_paused_publisher_resumes_when_the_subscriber_goes_away()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.OutputBackpressureBytes = 64 * 1024, time: clock);
        try
        {
            TcpClient subscriber = await SubscribeAsync(broker.Port, "gone-sub", qos: 0);
            using TcpClient publisher = await ConnectAsync(broker.Port, "gone-pub");
            Task publishing = PublishQoS0Async(publisher.GetStream(), Messages);
            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 1, "the publisher never paused for the subscriber that does not read");

            subscriber.Dispose();
            await WaitUntilAsync(() => broker.Broker.Counters.MessagesReceived == Messages, "the publisher stayed paused after its subscriber went away");
            await publishing.WaitAsync(RealWait);
            Assert.Equal(0, broker.Broker.PublishersPaused);
        }
        finally
        {
            // A failed test must fail, not hang: a pause the signal missed ends on the clock.
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task A_publisher_paused_for_the_internal_client_resumes_when_it_acknowledges_QoS0_deliveries()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.QueueBackpressureMessages = 5, time: clock);
        try
        {
            var deliveries = new BlockingCollection<InternalDelivery>();
            InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/relief", 10, deliveries.Add);
            client.Subscribe("slow/#", QualityOfService.AtMostOnce);
            using TcpClient publisher = await ConnectAsync(broker.Port, "internal-pub");
            const int Count = 50;
            Task publishing = PublishQoS0Async(publisher.GetStream(), Count);

            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 1, "the publisher never paused for the internal client");
            Assert.Equal(5, deliveries.Count);
            for (int i = 0; i < Count; i++)
            {
                client.Acknowledge(deliveries.Take(new CancellationTokenSource(RealWait).Token));
            }
            await publishing.WaitAsync(RealWait);
            Assert.Equal(0, broker.Broker.Counters.MessagesDropped);
        }
        finally
        {
            // A failed test must fail, not hang: a pause the signal missed ends on the clock.
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task A_publisher_paused_for_a_long_QoS1_queue_resumes_when_deliveries_leave_it()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.QueueBackpressureMessages = 5, time: clock);
        try
        {
            var deliveries = new BlockingCollection<InternalDelivery>();
            InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/relief", 1, deliveries.Add);
            client.Subscribe("slow/#", QualityOfService.AtLeastOnce);
            using TcpClient publisher = await ConnectAsync(broker.Port, "queue-pub");
            const int Count = 30;
            await publisher.GetStream().WriteAsync(Enumerable.Range(1, Count).SelectMany(id => PublishQoS1((ushort)id)).ToArray());

            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 1, "the publisher never paused for the internal client's queue");
            Assert.True(broker.Broker.Counters.MessagesReceived < Count);
            for (int i = 0; i < Count; i++)
            {
                client.Acknowledge(deliveries.Take(new CancellationTokenSource(RealWait).Token));
            }
            await ReadAsync(publisher.GetStream(), Count * 4L); // every PUBACK
            Assert.Equal(Count, broker.Broker.Counters.MessagesReceived);
            Assert.Equal(0, broker.Broker.Counters.MessagesDropped);
        }
        finally
        {
            // A failed test must fail, not hang: a pause the signal missed ends on the clock.
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    // The store's commits are the consumer here: what a client sends while the payloads already
    // written wait for a commit stays unread (in TCP), so a disk slower than the publishers costs no memory.
    [Fact]
    public async Task A_publisher_pauses_while_uncommitted_payloads_exceed_the_budget_and_resumes_when_the_commit_completes()
    {
        var clock = new ManualClock();
        const int PayloadBytes = 64 * 1024;
        const int Count = 10;
        FailingStore? store = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(
            o => o.MaxUncommittedPayloadBytes = 100_000, time: clock, wrapStore: s => store = new FailingStore(s));
        try
        {
            using TcpClient publisher = await ConnectAsync(broker.Port, "commit-pub");
            store!.HoldCommits();
            // Retained QoS 1 messages: each is stored, and acknowledged once its commit completes.
            byte[] packets = [.. Enumerable.Range(1, Count).SelectMany(id => EncodePublish($"slow/r/{id}", new byte[PayloadBytes], (ushort)id))];
            await publisher.GetStream().WriteAsync(packets);

            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 1, "the publisher never paused for the held commits");
            // The second message took the uncommitted bytes over the budget; nothing after it was read.
            Assert.Equal(2, broker.Broker.Counters.MessagesReceived);
            Assert.Equal(2L * PayloadBytes, broker.Broker.UncommittedPayloadBytes);

            store.ReleaseCommits();
            await ReadAsync(publisher.GetStream(), Count * 4L); // every PUBACK
            Assert.Equal(Count, broker.Broker.Counters.MessagesReceived);
            await WaitUntilAsync(() => broker.Broker.UncommittedPayloadBytes == 0, "committed payloads were not given back to the budget");
            // The pause ends in the connection's own continuation, which may run just after the last
            // commit gave its bytes back (seen once in a loaded run of the whole project).
            await WaitUntilAsync(() => broker.Broker.PublishersPaused == 0, "the publisher stayed paused after its commits completed");
        }
        finally
        {
            store?.ReleaseCommits();
            // A failed test must fail, not hang: a pause the signal missed ends on the clock.
            clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    private static byte[] EncodePublish(string topic, byte[] payload, ushort packetIdentifier)
    {
        var packet = new PublishPacket(System.Text.Encoding.UTF8.GetBytes(topic), payload)
        {
            QoS = QualityOfService.AtLeastOnce,
            Retain = true,
            PacketIdentifier = packetIdentifier,
        };
        byte[] bytes = new byte[packet.GetEncodedSize(MqttProtocolVersion.V311)];
        packet.Encode(bytes, MqttProtocolVersion.V311);
        return bytes;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        using var deadline = new CancellationTokenSource(RealWait);
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, failure);
            await Task.Delay(10);
        }
    }

    private static async Task<TcpClient> ConnectAsync(int port, string clientId, int receiveBuffer = 0)
    {
        var client = new TcpClient();
        if (receiveBuffer > 0)
        {
            client.ReceiveBufferSize = receiveBuffer;
        }
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.GetStream().WriteAsync(Connect(clientId));
        await ReadExactlyAsync(client.GetStream(), 4); // CONNACK
        return client;
    }

    private static async Task<TcpClient> SubscribeAsync(int port, string clientId, byte qos)
    {
        TcpClient client = await ConnectAsync(port, clientId, receiveBuffer: 8 * 1024);
        await client.GetStream().WriteAsync(Convert.FromHexString("820B0001" + "0006" + Convert.ToHexString("slow/t"u8) + "0" + qos));
        await ReadExactlyAsync(client.GetStream(), 5); // SUBACK
        return client;
    }

    private static async Task PublishQoS0Async(NetworkStream output, int count)
    {
        byte[] packet = [0x30, 0xD0, 0x01, 0x00, 0x06, .. "slow/t"u8, .. new byte[PayloadSize]];
        byte[] all = new byte[packet.Length * count];
        for (int i = 0; i < count; i++)
        {
            packet.CopyTo(all, i * packet.Length);
        }
        await output.WriteAsync(all);
    }

    // PUBLISH, QoS 1, topic "slow/q", the packet identifier, payload "x" (3.1.1 §3.3).
    private static byte[] PublishQoS1(ushort packetIdentifier) =>
        [0x32, 0x0B, 0x00, 0x06, .. "slow/q"u8, (byte)(packetIdentifier >> 8), (byte)packetIdentifier, (byte)'x'];

    private static async Task<long> ReadAsync(NetworkStream input, long expected)
    {
        using var deadline = new CancellationTokenSource(RealWait);
        var buffer = new byte[64 * 1024];
        long bytes = 0;
        while (bytes < expected)
        {
            int n = await input.ReadAsync(buffer, deadline.Token);
            if (n == 0)
            {
                break;
            }
            bytes += n;
        }
        return bytes;
    }

    private static byte[] Connect(string clientId)
    {
        byte[] id = System.Text.Encoding.ASCII.GetBytes(clientId);
        byte[] variable = [0x00, 0x04, .. "MQTT"u8, 0x04, 0x02, 0x00, 0x3C, 0x00, (byte)id.Length, .. id];
        return [0x10, (byte)variable.Length, .. variable];
    }

    private static async Task ReadExactlyAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.ReadExactlyAsync(buffer, timeout.Token);
    }
}
