using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A DISCONNECT the broker sends reaches a client that is still writing: the broker half-closes
/// and reads on until the client closes, instead of closing with unread bytes (which resets the
/// connection, and the client may never read why it was disconnected — Paho's test_flow_control2).
/// </summary>
public sealed class ServerDisconnectTests
{
    [Fact]
    public async Task A_client_that_exceeds_Receive_Maximum_while_writing_reads_DISCONNECT_0x93_and_a_clean_end()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.ReceiveMaximum = 2);
        using RawConnection client = await RawConnection.OpenAsync(broker.Port);
        await client.SendAsync(RawConnection.Hex("10 10 0004 4D515454 05 02 003C 00 0003 726177")); // CONNECT 5.0, "raw"
        byte[] header = await client.ReadAsync(2, TimeSpan.FromSeconds(10));
        Assert.Equal(0x20, header[0]);
        byte[] connAck = await client.ReadAsync(header[1], TimeSpan.FromSeconds(10));
        Assert.Equal(0x00, connAck[1]); // Success

        // Three QoS 2 PUBLISH packets without PUBREL: one more than the broker's Receive Maximum
        // (§3.3.4: the server disconnects with 0x93 Receive Maximum exceeded). The client goes on
        // writing, as a client that does not yet know does.
        await client.SendAsync(RawConnection.Hex("34 07 0001 74 0001 00 78 34 07 0001 74 0002 00 78 34 07 0001 74 0003 00 78"));
        var writing = System.Diagnostics.Stopwatch.StartNew();
        while (writing.ElapsedMilliseconds < 300 && await client.TrySendAsync(RawConnection.Hex("62 02 0001 62 02 0002"))) // PUBREL 1 and 2
        {
            await Task.Delay(2);
        }

        bool writesFailed = writing.ElapsedMilliseconds < 300;
        (byte[] received, bool reset) = await client.ReadToEndAsync(TimeSpan.FromSeconds(10));
        Assert.False(writesFailed, "the broker reset the connection while the client was writing");
        Assert.False(reset, "the broker reset the connection instead of closing it after its DISCONNECT");
        int disconnect = Array.IndexOf(received, (byte)0xE0);
        Assert.True(disconnect >= 0 && disconnect + 2 < received.Length, "no DISCONNECT arrived: " + Convert.ToHexString(received));
        Assert.Equal(0x93, received[disconnect + 2]);
    }
}
