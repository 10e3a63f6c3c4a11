using System.Globalization;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A persistent session's queue beyond <see cref="BrokerOptions.MaxResidentDeliveriesPerSession"/>
/// lives in the store only (issue 12): memory holds at most the window, before and after a restart,
/// and everything is delivered, in order, across a restart in the middle of the drain. Real
/// broker, real SQLite files, a real socket client.
/// </summary>
public sealed class SpilledQueueTests
{
    private const int Window = 1_000;
    private const int InFlight = 100;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_queue_of_50000_keeps_a_window_in_memory_and_delivers_everything_in_order_across_a_restart_in_the_drain()
    {
        const int Messages = 50_000;
        const int BeforeRestart = 20_000;
        string[] payloads = [.. Enumerable.Range(0, Messages).Select(i => i.ToString("D6", CultureInfo.InvariantCulture))];
        using var data = new TempFolder();
        var received = new List<string>();

        await using (RunningBroker broker = await StartAsync(data.Path))
        {
            using (RawConnection parked = await ConnectAsync(broker.Port, "spill-sub"))
            {
                await parked.SendAsync(RawMqtt.Subscribe("q/#"));
                Assert.Equal(0x90, (await parked.ReadPacketAsync(Timeout)).Type);
            }
            await PublishAsync(broker.Port, payloads);

            // Every publish was acknowledged, so every delivery is committed: the tail is on disk only.
            await WaitUntilAsync(() => broker.Broker.Counters.SpilledDeliveries == Messages - Window,
                () => $"{broker.Broker.Counters.SpilledDeliveries} spilled");
            Assert.True(broker.Broker.ResidentDeliveries <= Window, $"{broker.Broker.ResidentDeliveries} deliveries in memory");

            using RawConnection subscriber = await ConnectAsync(broker.Port, "spill-sub");
            while (received.Count < BeforeRestart)
            {
                received.AddRange(await subscriber.ReceiveAtLeastOnceAsync(1_000, Timeout));
                Assert.True(broker.Broker.ResidentDeliveries <= Window + InFlight, $"{broker.Broker.ResidentDeliveries} deliveries in memory while draining");
            }
        } // the subscriber goes without a DISCONNECT: what was in flight is sent again after the restart

        await using (RunningBroker restarted = await StartAsync(data.Path))
        {
            Assert.True(restarted.Broker.ResidentDeliveries <= Window, $"{restarted.Broker.ResidentDeliveries} deliveries in memory after the restart");
            Assert.True(restarted.Broker.Counters.SpilledDeliveries >= Messages - BeforeRestart - Window - InFlight,
                $"{restarted.Broker.Counters.SpilledDeliveries} spilled after the restart");

            using RawConnection subscriber = await ConnectAsync(restarted.Port, "spill-sub");
            var rest = new List<string>();
            while (rest.Count == 0 || rest[^1] != payloads[^1])
            {
                rest.AddRange(await subscriber.ReceiveAtLeastOnceAsync(1, Timeout));
                Assert.True(restarted.Broker.ResidentDeliveries <= Window + InFlight, $"{restarted.Broker.ResidentDeliveries} deliveries in memory while draining");
            }
            // At least once: what was in flight at the restart comes again, in order, then the rest.
            int resumedAt = Array.IndexOf(payloads, rest[0]);
            Assert.InRange(resumedAt, BeforeRestart - InFlight, BeforeRestart);
            Assert.Equal(payloads[..BeforeRestart], received);
            Assert.Equal(payloads[resumedAt..], rest);
            await WaitUntilAsync(() => restarted.Broker.ResidentDeliveries == 0 && restarted.Broker.Counters.SpilledDeliveries == 0,
                () => $"{restarted.Broker.ResidentDeliveries} in memory, {restarted.Broker.Counters.SpilledDeliveries} spilled after the drain");
        }
    }

    [Fact]
    public async Task A_session_that_ends_takes_its_spilled_tail_and_its_messages_with_it()
    {
        using var data = new TempFolder();
        await using RunningBroker broker = await StartAsync(data.Path);
        using (RawConnection parked = await ConnectAsync(broker.Port, "ends"))
        {
            await parked.SendAsync(RawMqtt.Subscribe("q/#"));
            Assert.Equal(0x90, (await parked.ReadPacketAsync(Timeout)).Type);
        }
        await PublishAsync(broker.Port, [.. Enumerable.Range(0, 3 * Window).Select(i => i.ToString(CultureInfo.InvariantCulture))]);
        await WaitUntilAsync(() => broker.Broker.Counters.SpilledDeliveries == 2 * Window, () => $"{broker.Broker.Counters.SpilledDeliveries} spilled");

        // A clean start ends the session (§3.1.2.4): its queue goes, in memory and on disk.
        using (RawConnection clean = await RawConnection.OpenAsync(broker.Port))
        {
            await clean.SendAsync(RawMqtt.Connect("ends", version: 4, cleanStart: true));
            Assert.Equal(0x20, (await clean.ReadPacketAsync(Timeout)).Type);
        }
        Assert.Equal(0, broker.Broker.Counters.SpilledDeliveries);
        string database = Path.Combine(data.Path, "broker.db");
        await WaitUntilAsync(() => Count(database, "SELECT count(*) FROM messages") == 0 && Count(database, "SELECT count(*) FROM deliveries") == 0,
            () => $"{Count(database, "SELECT count(*) FROM messages")} messages, {Count(database, "SELECT count(*) FROM deliveries")} deliveries left");
    }

    private static long Count(string database, string sql)
    {
        using var connection = IoTPE.Sqlite.SqliteDatabase.OpenReadOnly(database);
        return connection.QueryInt64(sql) ?? -1;
    }

    // QoS 1 from one 3.1.1 client, 500 at a time (below the broker's Receive Maximum), each batch acknowledged whole.
    private static async Task PublishAsync(int port, string[] payloads)
    {
        using RawConnection publisher = await ConnectAsync(port, "spill-pub");
        for (int start = 0; start < payloads.Length; start += 500)
        {
            int count = Math.Min(500, payloads.Length - start);
            byte[] batch = [.. Enumerable.Range(start, count).SelectMany(i => RawMqtt.Publish("q/t", (ushort)(i % 60_000 + 1), payloads[i], version: 4))];
            await publisher.SendAsync(batch);
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(0x40, (await publisher.ReadPacketAsync(Timeout)).Type);
            }
        }
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
            o.MaxResidentDeliveriesPerSession = Window;
            o.MaxInflightMessages = InFlight;
        }, dataFolder);

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
