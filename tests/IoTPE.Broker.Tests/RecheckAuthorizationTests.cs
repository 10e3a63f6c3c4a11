using System.Net;
using System.Net.Sockets;
using IoTPE.Broker.Security;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A right withdrawn while QoS 1 messages are in flight (unacknowledged) to a client: after
/// <see cref="Broker.RecheckAuthorization"/> they are not resent on reconnect, and the client's
/// late PUBACKs for them change nothing. The client is hand-written MQTT 3.1.1 over a real socket.
/// </summary>
public sealed class RecheckAuthorizationTests
{
    [Fact]
    public async Task Deliveries_in_flight_that_may_no_longer_be_read_are_not_resent_and_late_acks_are_harmless()
    {
        var rights = new SwitchableAuthorizer();
        await using RunningBroker broker = await RunningBroker.StartAsync(authorizer: rights);
        ushort[] inFlight = new ushort[3];
        using (var first = new TcpClient())
        {
            await first.ConnectAsync(IPAddress.Loopback, broker.Port);
            NetworkStream stream = first.GetStream();
            await stream.WriteAsync(Connect("grantee"));
            Assert.Equal([0x20, 0x02, 0x00, 0x00], await ReadAsync(stream, 4));
            await stream.WriteAsync(Convert.FromHexString("820B0001" + "0006" + Convert.ToHexString("feed/1"u8) + "01"));
            Assert.Equal([0x90, 0x03, 0x00, 0x01, 0x01], await ReadAsync(stream, 5));
            for (int i = 0; i < inFlight.Length; i++)
            {
                broker.Broker.Publish(new ApplicationMessage("feed/1", new[] { (byte)('a' + i) }, QualityOfService.AtLeastOnce, retain: false));
            }
            for (int i = 0; i < inFlight.Length; i++)
            {
                // PUBLISH QoS 1: 0x32, length 11, topic "feed/1", packet identifier, one byte of payload.
                byte[] publish = await ReadAsync(stream, 13);
                Assert.Equal(0x32, publish[0]);
                inFlight[i] = (ushort)((publish[10] << 8) | publish[11]);
            }
            // Gone without acknowledging anything.
        }

        rights.MayReceiveFeed = false;
        broker.Broker.RecheckAuthorization();

        using var second = new TcpClient();
        await second.ConnectAsync(IPAddress.Loopback, broker.Port);
        NetworkStream again = second.GetStream();
        await again.WriteAsync(Connect("grantee"));
        Assert.Equal([0x20, 0x02, 0x01, 0x00], await ReadAsync(again, 4)); // session present
        // Anything resent would come before the answer to this PINGREQ.
        await again.WriteAsync(new byte[] { 0xC0, 0x00 });
        Assert.Equal([0xD0, 0x00], await ReadAsync(again, 2));
        foreach (ushort packetIdentifier in inFlight)
        {
            await again.WriteAsync(new byte[] { 0x40, 0x02, (byte)(packetIdentifier >> 8), (byte)packetIdentifier });
        }
        await again.WriteAsync(new byte[] { 0xC0, 0x00 });
        Assert.Equal([0xD0, 0x00], await ReadAsync(again, 2));
        Assert.Equal(inFlight.Length, broker.Broker.Counters.MessagesDropped);
    }

    private static byte[] Connect(string clientId)
    {
        byte[] id = System.Text.Encoding.ASCII.GetBytes(clientId);
        // 3.1.1 CONNECT with CleanSession=0, keep alive 60 s.
        byte[] variable = [0x00, 0x04, .. "MQTT"u8, 0x04, 0x00, 0x00, 0x3C, 0x00, (byte)id.Length, .. id];
        return [0x10, (byte)variable.Length, .. variable];
    }

    private static async Task<byte[]> ReadAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer;
    }

    private sealed class SwitchableAuthorizer : IAuthorizer
    {
        public volatile bool MayReceiveFeed = true;

        public bool CanPublish(ClientIdentity client, string topicName) => true;

        public bool CanSubscribe(ClientIdentity client, string topicFilter) => true;

        public bool CanReceive(ClientIdentity client, string topicName) => MayReceiveFeed || !topicName.StartsWith("feed/", StringComparison.Ordinal);
    }
}
