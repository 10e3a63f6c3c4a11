using System.Net;
using System.Net.Sockets;
using IoTPE.Broker.Tests.Infrastructure;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A subscriber that reads more slowly than a publisher writes: QoS 0 messages are slowed down
/// through TCP, not lost, as long as the subscriber keeps reading.
/// </summary>
public sealed class SlowConsumerTests
{
    private const int Messages = 40_000;
    private const int PayloadSize = 200;

    [Fact]
    public async Task A_slow_subscriber_slows_the_publisher_down_and_gets_every_QoS0_message()
    {
        int received = await RunAsync(backpressure: true);
        Assert.Equal(Messages, received);
    }

    [Fact]
    public async Task Without_backpressure_the_same_load_overflows_the_subscriber_and_messages_are_dropped()
    {
        // The control case: it shows the load above is heavy enough to lose messages, so the test
        // above passes because of the backpressure and not because the subscriber kept up.
        int received = await RunAsync(backpressure: false);
        Assert.InRange(received, 1, Messages - 1);
    }

    [Fact]
    public async Task A_slow_QoS1_subscriber_slows_the_publisher_down_before_its_queue_overflows()
    {
        (int received, bool inOrder, _, _) = await RunQoS1Async(backpressure: true, mqtt5: false);
        Assert.Equal(QoS1Messages, received);
        Assert.True(inOrder);
    }

    [Fact]
    public async Task Without_queue_backpressure_the_same_QoS1_load_fills_the_queue_and_the_publisher_is_refused()
    {
        // The control case: the load does fill the queue. Messages that would overflow it are
        // refused to the publisher (MQTT 5.0: PUBACK 0x97), never acknowledged and then dropped.
        (int received, _, long dropped, string publisherErrors) = await RunQoS1Async(backpressure: false, mqtt5: true);
        Assert.InRange(received, 1, QoS1Messages - 1);
        Assert.Equal(0, dropped);
        Assert.Contains("Quota exceeded", publisherErrors, StringComparison.OrdinalIgnoreCase);
    }

    private const int QoS1Messages = 10_000;

    // mosquitto_pub publishes the numbers 1..N at QoS 1 as fast as the broker acknowledges them; a
    // hand-written subscriber reads them at QoS 1 and acknowledges 10 at a time with a pause of a millisecond or more between.
    private static async Task<(int Received, bool InOrder, long Dropped, string PublisherErrors)> RunQoS1Async(bool backpressure, bool mqtt5)
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o =>
        {
            o.QueueBackpressureMessages = backpressure ? 300 : int.MaxValue;
            o.MaxQueuedMessages = 2000;
        });
        using var subscriber = new TcpClient();
        await subscriber.ConnectAsync(IPAddress.Loopback, broker.Port);
        NetworkStream stream = subscriber.GetStream();
        await stream.WriteAsync(Connect("slow-qos1-sub"));
        await stream.WriteAsync(Convert.FromHexString("820B0001" + "0006" + Convert.ToHexString("slow/1"u8) + "01"));
        await ReadExactlyAsync(stream, 4 + 5); // CONNACK, SUBACK

        string numbers = string.Join('\n', Enumerable.Range(1, QoS1Messages)) + "\n";
        Task<ProcessRun> publishing = ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q", "1", "-t", "slow/1", "-l",
                "-V", mqtt5 ? "mqttv5" : "mqttv311"],
            TimeSpan.FromSeconds(60), standardInput: numbers);

        int received = 0;
        bool inOrder = true;
        var pending = new List<byte>();
        var buffer = new byte[4096];
        while (received < QoS1Messages)
        {
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, quiet.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (n == 0)
            {
                break;
            }
            pending.AddRange(buffer.AsSpan(0, n));
            int inBatch = 0;
            while (TryTakePublish(pending, out ushort packetIdentifier, out string payload))
            {
                received++;
                inOrder &= payload == received.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await stream.WriteAsync(new byte[] { 0x40, 0x02, (byte)(packetIdentifier >> 8), (byte)packetIdentifier });
                if (++inBatch % 10 == 0)
                {
                    await Task.Delay(1);
                }
            }
        }
        ProcessRun publisher = await publishing;
        Assert.True(mqtt5 || publisher.ExitCode == 0, publisher.StandardError);
        return (received, inOrder, broker.Broker.Counters.MessagesDropped, publisher.StandardError + publisher.StandardOutput);
    }

    // One QoS 1 PUBLISH (0x32) from the front of the buffer: topic, packet identifier, payload (3.1.1 §3.3).
    private static bool TryTakePublish(List<byte> data, out ushort packetIdentifier, out string payload)
    {
        packetIdentifier = 0;
        payload = "";
        if (data.Count < 2)
        {
            return false;
        }
        int remaining = 0, multiplier = 1, index = 1;
        while (true)
        {
            if (index >= data.Count)
            {
                return false;
            }
            byte b = data[index++];
            remaining += (b & 0x7F) * multiplier;
            multiplier *= 128;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }
        if (data.Count < index + remaining)
        {
            return false;
        }
        Assert.Equal(0x32, data[0] & 0xF6); // a QoS 1 PUBLISH (DUP and RETAIN may be set)
        int topicLength = (data[index] << 8) | data[index + 1];
        int identifierAt = index + 2 + topicLength;
        packetIdentifier = (ushort)((data[identifierAt] << 8) | data[identifierAt + 1]);
        int payloadAt = identifierAt + 2;
        payload = System.Text.Encoding.ASCII.GetString([.. data.GetRange(payloadAt, index + remaining - payloadAt)]);
        data.RemoveRange(0, index + remaining);
        return true;
    }

    private static async Task<int> RunAsync(bool backpressure)
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o =>
        {
            o.OutputBackpressureBytes = backpressure ? 64 * 1024 : int.MaxValue;
            o.MaxPendingOutputBytes = 1024 * 1024;
        });

        using var subscriber = new TcpClient { ReceiveBufferSize = 8 * 1024 };
        await subscriber.ConnectAsync(IPAddress.Loopback, broker.Port);
        NetworkStream input = subscriber.GetStream();
        await input.WriteAsync(Connect("slow-sub"));
        await input.WriteAsync(Convert.FromHexString("820B0001" + "0006" + Convert.ToHexString("slow/t"u8) + "00"));
        await ReadExactlyAsync(input, 4 + 5); // CONNACK, SUBACK

        using var publisher = new TcpClient();
        await publisher.ConnectAsync(IPAddress.Loopback, broker.Port);
        NetworkStream output = publisher.GetStream();
        await output.WriteAsync(Connect("fast-pub"));
        await ReadExactlyAsync(output, 4);
        Task publishing = PublishAllAsync(output);

        // Read about 4 MB/s, far slower than loopback, until nothing more arrives for two seconds.
        long bytes = 0;
        var buffer = new byte[4096];
        while (true)
        {
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            int n;
            try
            {
                n = await input.ReadAsync(buffer, quiet.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (n == 0)
            {
                break;
            }
            bytes += n;
            if (bytes == (long)Messages * PublishPacketSize)
            {
                break;
            }
            await Task.Delay(1);
        }
        await publishing;
        Assert.Equal(0, bytes % PublishPacketSize); // whole packets only
        return (int)(bytes / PublishPacketSize);
    }

    // PUBLISH, QoS 0, topic "slow/t": fixed header (3 bytes: 0x30 and remaining length 208) + 8 + payload.
    private const int PublishPacketSize = 3 + 8 + PayloadSize;

    private static async Task PublishAllAsync(NetworkStream output)
    {
        byte[] packet = [0x30, 0xD0, 0x01, 0x00, 0x06, .. "slow/t"u8, .. new byte[PayloadSize]];
        const int PerWrite = 300;
        var chunk = new byte[packet.Length * PerWrite];
        for (int i = 0; i < PerWrite; i++)
        {
            packet.CopyTo(chunk, i * packet.Length);
        }
        for (int sent = 0; sent < Messages; sent += PerWrite)
        {
            await output.WriteAsync(chunk.AsMemory(0, packet.Length * Math.Min(PerWrite, Messages - sent)));
        }
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
