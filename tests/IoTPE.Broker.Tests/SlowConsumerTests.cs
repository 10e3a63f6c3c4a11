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
