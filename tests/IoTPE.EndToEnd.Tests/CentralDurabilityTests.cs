using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 19, item 4: the central's broker state lives on the MariaDB server (<c>iotpe run --mysql</c>)
/// with the same promise as on SQLite. The published binary is killed with SIGKILL in the middle of
/// 20,000 QoS 2 messages from a publisher to an account's persistent subscriber; after the restart
/// every message arrives exactly once and in order, every acknowledged one among them.
/// </summary>
public sealed class CentralDurabilityTests(CentralDatabaseFixture database) : IClassFixture<CentralDatabaseFixture>
{
    private const int Messages = 20_000;

    [Fact]
    public async Task Every_QoS_2_message_the_central_acknowledged_arrives_exactly_once_and_in_order_across_a_kill_9()
    {
        await using IotpeServer central = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
        ProcessRun add = await central.CommandAsync(["account", "add", "dur", "--password-stdin", "--mysql", database.Service], "dur-secret\n");
        Assert.True(add.ExitCode == 0, add.StandardError);
        var publisher = new QoS2Publisher("dur-publisher", "/dur/seq", "dur", "dur-secret");

        await QoS2Subscriber.SubscribeAndLeaveAsync(central.Port, "dur-subscriber", "/dur/seq", "dur", "dur-secret");
        // Publish until a quarter of the stream was acknowledged, with a window still in flight, then kill -9.
        await publisher.RunAsync(central.Port, Messages, stopAfterAcknowledged: Messages / 4);
        central.Kill();
        HashSet<int> acknowledgedBeforeKill = [.. publisher.Acknowledged];
        Assert.NotEmpty(publisher.Unreceived.Concat(publisher.Unreleased)); // the kill did cut into the flow

        // The broker's state is in the service database, not in the data folder.
        Assert.False(File.Exists(Path.Combine(central.DataFolder, "broker.db")));
        Assert.NotEqual("0", (await database.Server.ExecuteAsRootAsync("SELECT COUNT(*) FROM iotpe.deliveries")).Trim());

        await central.RestartAsync();
        // The publisher resends what it has no PUBREC for (DUP) and the PUBRELs, then the rest.
        await publisher.RunAsync(central.Port, Messages);
        Assert.Empty(publisher.Unreceived);
        Assert.Empty(publisher.Unreleased);

        List<int> received = await QoS2Subscriber.ReceiveExactlyOnceAsync(central.Port, "dur-subscriber", Messages, "dur", "dur-secret");
        Assert.Equal(Enumerable.Range(1, Messages), received); // each once, in order
        Assert.Subset(received.ToHashSet(), acknowledgedBeforeKill);
    }

    [Fact]
    public async Task A_second_central_on_the_same_service_database_exits_at_once_naming_the_cause()
    {
        await using IotpeServer central = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
        // The broker store's lock on the database keeps a second broker off it (MySqlBrokerStoreException).
        ProcessRun second = await central.CommandAsync(["run", "--listen", "127.0.0.1:1", "--mysql", database.Service]);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("iotpe: cannot open the broker's store on the MySQL/MariaDB server: Another broker store", second.StandardError);
    }
}
