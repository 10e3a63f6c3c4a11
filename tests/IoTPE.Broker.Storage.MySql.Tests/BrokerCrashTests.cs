using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>
/// A real broker process on the MySQL store (IoTPE.Broker.Storage.MySql.CrashHelper), with real
/// sockets: killed with SIGKILL mid-stream and restarted on the same database, or left running while
/// the database server fails, and it is what the clients see that must hold.
/// </summary>
public sealed class BrokerCrashTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    private const int Messages = 20_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_QoS_2_message_the_broker_acknowledged_arrives_exactly_once_and_in_order_across_a_kill_9()
    {
        string database = await fixture.NewDatabaseAsync();
        int port = FreePort();
        var publisher = new QoS2Publisher("publisher", "seq");

        using (OutputCollector broker = await StartBrokerAsync(database, port))
        {
            await QoS2Subscriber.SubscribeAndLeaveAsync(port, "subscriber", "seq");
            // Publish until a quarter of the stream was acknowledged, with a window still in flight, then kill -9.
            await publisher.RunAsync(port, Messages, stopAfterAcknowledged: Messages / 4);
            broker.Kill();
            Assert.True(broker.HasExited);
        }
        HashSet<int> acknowledgedBeforeKill = [.. publisher.Acknowledged];
        Assert.NotEmpty(publisher.Unreceived.Concat(publisher.Unreleased)); // the kill did cut into the flow

        using (OutputCollector broker = await StartBrokerAsync(database, port))
        {
            // The publisher resends what it has no PUBREC for (DUP) and the PUBRELs, then the rest.
            await publisher.RunAsync(port, Messages);
            Assert.Empty(publisher.Unreceived);
            Assert.Empty(publisher.Unreleased);

            List<int> received = await QoS2Subscriber.ReceiveExactlyOnceAsync(port, "subscriber", Messages);
            Assert.Equal(Enumerable.Range(1, Messages), received); // each once, in order
            Assert.Subset(received.ToHashSet(), acknowledgedBeforeKill);
        }
    }

    [Fact]
    public async Task While_the_database_server_is_stopped_5_0_publishes_are_refused_and_service_resumes_by_itself_with_nothing_acknowledged_lost()
    {
        const int Wanted = 600;
        string database = await fixture.NewDatabaseAsync();
        int port = FreePort();
        using OutputCollector broker = await StartBrokerAsync(database, port);
        await QoS2Subscriber.SubscribeAndLeaveAsync(port, "subscriber", "seq");

        using RawConnection publisher = await RawConnection.OpenAsync(port);
        await publisher.SendAsync(RawMqtt.Connect("publisher", 5, cleanStart: false, sessionExpiry: 3600));
        Assert.Equal(0x20, (await publisher.ReadPacketAsync(Patience)).Type);
        var accepted = new List<int>();
        var refusals = new List<byte>();
        bool stopped = false, restarted = false;
        int number = 1;
        while (accepted.Count < Wanted)
        {
            // One at a time; a refused number is published again until accepted, as a client would.
            await publisher.SendAsync(RawMqtt.Publish("seq", (ushort)number, number.ToString(CultureInfo.InvariantCulture), 5));
            (byte type, byte[] puback) = await publisher.ReadPacketAsync(Patience);
            Assert.Equal(0x40, type);
            byte reason = puback.Length > 2 ? puback[2] : (byte)0;
            if (reason == 0)
            {
                accepted.Add(number++);
            }
            else
            {
                Assert.Contains(reason, new byte[] { 0x80, 0x97 });
                refusals.Add(reason);
            }
            if (!stopped && accepted.Count == Wanted / 3)
            {
                await fixture.Server.StopAsync();
                stopped = true;
            }
            else if (stopped && !restarted && refusals.Count >= 20)
            {
                await fixture.Server.RestartAsync();
                restarted = true;
            }
        }
        Assert.True(restarted, "publishes were refused while the server was down");
        Assert.True(await broker.WaitUntilAsync(() => broker.Error.Contains("durable writes resume", StringComparison.Ordinal), Patience), broker.Error);

        List<int> received = await QoS2Subscriber.ReceiveExactlyOnceAsync(port, "subscriber", Wanted);
        Assert.Equal(accepted, received); // nothing acknowledged lost, nothing refused delivered twice, in order
    }

    [Fact]
    public async Task A_broker_that_cannot_reach_the_database_server_at_start_exits_with_a_message_naming_it()
    {
        int nothingThere = FreePort();
        string connectionString = fixture.Server.ConnectionString("root", "", "absent").Replace(
            string.Create(CultureInfo.InvariantCulture, $"Port={fixture.Server.Port}"),
            string.Create(CultureInfo.InvariantCulture, $"Port={nothingThere}"), StringComparison.Ordinal);
        using OutputCollector broker = StartHelper(connectionString, FreePort());
        Assert.True(await broker.WaitForExitAsync(Patience));
        Assert.Equal(3, broker.ExitCode);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"cannot use the server 127.0.0.1:{nothingThere}"), broker.Error, StringComparison.Ordinal);
    }

    private static async Task<OutputCollector> StartBrokerAsync(string connectionString, int port)
    {
        OutputCollector broker = StartHelper(connectionString, port);
        if (!await broker.WaitForLineAsync(line => line == string.Create(CultureInfo.InvariantCulture, $"listening {port}."), Patience))
        {
            string error = broker.Error;
            broker.Dispose();
            Assert.Fail("The broker did not start: " + error);
        }
        return broker;
    }

    private static OutputCollector StartHelper(string connectionString, int port) =>
        OutputCollector.Start("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "IoTPE.Broker.Storage.MySql.CrashHelper.dll"), connectionString, port.ToString(CultureInfo.InvariantCulture)]);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
