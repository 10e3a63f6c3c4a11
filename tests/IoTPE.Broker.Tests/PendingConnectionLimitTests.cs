using System.Net;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// Connections that have not completed CONNECT are bounded, so that a flood of them cannot take the
/// room of legitimate clients: per address, in total (the oldest makes room), and in packet size.
/// </summary>
public sealed class PendingConnectionLimitTests
{
    private static readonly byte[] Connect = RawConnection.Hex("10 0F 0004 4D515454 04 02 003C 0003 726177"); // 3.1.1, "raw"
    private static readonly byte[] ConnAckAccepted = RawConnection.Hex("20 02 00 00");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_CONNECT_larger_than_the_pre_CONNECT_limit_is_refused_before_it_arrives()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => { o.MaximumPacketSize = 4 * 1024 * 1024; o.MaxConnectPacketSize = 64 * 1024; });
        using RawConnection client = await RawConnection.OpenAsync(broker.Port);
        await client.SendAsync(RawConnection.Hex("10 80 80 40")); // CONNECT announcing 1 MiB, within maximumPacketSize
        (_, bool closed) = await client.ReadUntilClosedAsync(Wait);
        Assert.True(closed, "a CONNECT announcing 1 MiB was waited for");
    }

    [Fact]
    public async Task Connections_without_CONNECT_from_one_address_are_capped_and_other_addresses_get_in()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxPendingConnectionsPerAddress = 5);
        var silent = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                silent.Add(await RawConnection.OpenAsync(broker.Port));
            }
            await WaitForPendingAsync(broker, 5);
            using RawConnection sixth = await RawConnection.OpenAsync(broker.Port);
            (_, bool closed) = await sixth.ReadUntilClosedAsync(Wait);
            Assert.True(closed, "a sixth connection without CONNECT from the same address was kept");

            using RawConnection other = await RawConnection.OpenAsync(broker.Port, IPAddress.Parse("127.0.0.2"));
            await other.SendAsync(Connect);
            Assert.Equal(ConnAckAccepted, await other.ReadAsync(4, Wait));
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_full_set_of_pending_connections_makes_room_for_a_client_that_connects()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxPendingConnections = 10);
        var silent = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                silent.Add(await RawConnection.OpenAsync(broker.Port));
            }
            await WaitForPendingAsync(broker, 10);

            using RawConnection client = await RawConnection.OpenAsync(broker.Port);
            await client.SendAsync(Connect);
            Assert.Equal(ConnAckAccepted, await client.ReadAsync(4, Wait));
            (_, bool oldestClosed) = await silent[0].ReadUntilClosedAsync(Wait);
            Assert.True(oldestClosed, "the oldest connection without CONNECT was not closed to make room");
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    // Accepting is asynchronous: wait until the broker has taken every connection in.
    private static async Task WaitForPendingAsync(RunningBroker broker, int count)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (broker.Broker.PendingConnectionCount < count)
        {
            Assert.True(waited.Elapsed < Wait, $"the broker took in {broker.Broker.PendingConnectionCount} of {count} connections");
            await Task.Delay(10);
        }
    }
}
