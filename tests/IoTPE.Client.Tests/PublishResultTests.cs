using System.Globalization;
using System.Net.Sockets;
using IoTPE.Client.Storage;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;
using Microsoft.Data.Sqlite;

namespace IoTPE.Client.Tests;

/// <summary>
/// Publish's two moments (stored, delivered), message identities deduplicated by the state file, the list of pending
/// publishes, the publish timeout, and what a client tells about its connection while the broker is away.
/// </summary>
public sealed class PublishResultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Stored_completes_offline_and_a_restarted_client_recognises_stored_and_delivered_identities()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        MessageLog log = await clients.SubscribeAsync(broker, "ids/t");
        await broker.StopAsync(); // The subscriber's session is saved; nothing listens now.

        string publisherId = TestClients.NewClientId("pub");
        MqttClient first = clients.Create(clients.Options(broker, publisherId));
        await first.StartAsync();
        PublishResult[] published = Enumerable.Range(1, 3).Select(n => first.Publish("ids/t", Text(n), messageId: $"m-{n}")).ToArray();
        foreach (PublishResult result in published)
        {
            Assert.Equal(PublishStatus.Stored, await result.Stored.WaitAsync(Timeout));
            Assert.False(result.Delivered.IsCompleted); // Stored, not delivered: the broker is down.
        }

        PublishResult again = first.Publish("ids/t", "2 again", messageId: "m-2");
        Assert.Equal(PublishStatus.AlreadyStored, await again.Stored.WaitAsync(Timeout));
        IReadOnlyList<PendingPublish> pending = await first.GetPendingPublishesAsync().WaitAsync(Timeout);
        Assert.Equal(["m-1", "m-2", "m-3"], pending.Select(p => p.MessageId));
        Assert.Equal(["1", "2", "3"], pending.Select(p => p.Message.GetPayloadAsString()));
        await first.DisposeAsync(); // The process ends with three publishes pending.

        MqttClient second = clients.Create(clients.Options(broker, publisherId));
        await second.StartAsync();
        Assert.Equal(3, (await second.GetPendingPublishesAsync().WaitAsync(Timeout)).Count);
        PublishResult resumed = second.Publish("ids/t", Text(3), messageId: "m-3"); // The resume pattern: publish again what was not seen delivered.
        PublishResult fresh = second.Publish("ids/t", Text(4), messageId: "m-4");
        Assert.Equal(PublishStatus.AlreadyStored, await resumed.Stored.WaitAsync(Timeout));
        Assert.Equal(PublishStatus.Stored, await fresh.Stored.WaitAsync(Timeout));

        await broker.RestartAsync();
        await Task.WhenAll(resumed.Delivered, fresh.Delivered).WaitAsync(Timeout); // The earlier run's message, delivered by this one.
        Assert.True(await log.WaitForCountAsync(4, Timeout), $"received {log.Count}");
        Assert.Empty(await second.GetPendingPublishesAsync().WaitAsync(Timeout));

        PublishResult late = second.Publish("ids/t", Text(1), messageId: "m-1");
        Assert.Equal(PublishStatus.AlreadyDelivered, await late.Stored.WaitAsync(Timeout));
        Assert.True(late.Delivered.IsCompletedSuccessfully);
        await second.Publish("ids/t", Text(5), messageId: "m-5").Delivered.WaitAsync(Timeout);
        Assert.True(await log.WaitUntilAsync(m => m.Count >= 5, Timeout));
        Assert.Equal([1, 2, 3, 4, 5], log.Numbers); // Nothing twice: the repeated identities added nothing.
    }

    [Fact]
    public async Task Concurrent_publishes_of_one_identity_store_it_once_and_share_its_delivery()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        MessageLog log = await clients.SubscribeAsync(broker, "ids/same");
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));

        PublishResult[] results = Enumerable.Range(0, 20).Select(_ => publisher.Publish("ids/same", "7", messageId: "same")).ToArray();
        PublishStatus[] statuses = await Task.WhenAll(results.Select(r => r.Stored)).WaitAsync(Timeout);
        await Task.WhenAll(results.Select(r => r.Delivered)).WaitAsync(Timeout);
        await publisher.Publish("ids/same", "8").Delivered.WaitAsync(Timeout); // Behind the first: once it arrives, a second 7 would have.

        Assert.Single(statuses, PublishStatus.Stored);
        Assert.All(statuses.Where(s => s != PublishStatus.Stored), s => Assert.True(s is PublishStatus.AlreadyStored or PublishStatus.AlreadyDelivered));
        Assert.True(await log.WaitUntilAsync(m => m.Any(x => x.GetPayloadAsString() == "8"), Timeout));
        Assert.Equal([7, 8], log.Numbers);
    }

    [Fact]
    public async Task Delivered_identities_beyond_the_retention_are_forgotten_oldest_first()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")) with { MessageIdRetention = 2 });
        for (int n = 1; n <= 5; n++)
        {
            await publisher.Publish("ids/retention", Text(n), messageId: $"m-{n}").Delivered.WaitAsync(Timeout);
        }

        Assert.Equal(PublishStatus.AlreadyDelivered, await publisher.Publish("ids/retention", "5", messageId: "m-5").Stored.WaitAsync(Timeout));
        Assert.Equal(PublishStatus.Stored, await publisher.Publish("ids/retention", "1", messageId: "m-1").Stored.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_publish_to_an_unreachable_broker_times_out_naming_the_reason_and_stays_pending()
    {
        await using var clients = new TestClients();
        int port = BrokerProcessPorts.Unused();
        var changes = new List<ConnectionStateChangedEventArgs>();
        MqttClient client = clients.Create(clients.Options(port, TestClients.NewClientId("timeout")) with { PublishTimeout = TimeSpan.FromMilliseconds(300) });
        client.ConnectionStateChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }
        };
        await client.StartAsync();

        TimeoutException timeout = await Assert.ThrowsAsync<TimeoutException>(() => client.PublishAsync("timeout/t", "x").WaitAsync(Timeout));
        Assert.Contains("not connected", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("stays stored", timeout.Message, StringComparison.Ordinal);
        Assert.Single(await client.GetPendingPublishesAsync().WaitAsync(Timeout));

        TimeoutException notConnected = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitUntilConnectedAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Contains($"127.0.0.1:{port}", notConnected.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(notConnected.InnerException);
        lock (changes)
        {
            ConnectionStateChangedEventArgs failed = Assert.IsType<ConnectionStateChangedEventArgs>(changes.First());
            Assert.False(failed.IsConnected);
            Assert.IsType<SocketException>(failed.Error);
            Assert.NotNull(failed.NextAttemptIn);
        }
    }

    [Fact]
    public async Task A_client_in_a_long_backoff_connects_within_a_probe_interval_of_the_brokers_return()
    {
        await using var clients = new TestClients();
        int port = BrokerProcessPorts.Unused();
        MqttClient client = clients.Create(clients.Options(port, TestClients.NewClientId("probe")) with
        {
            ReconnectBackoff = new BackoffPolicy(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)), // 30-60 s between attempts
            ReconnectProbeInterval = TimeSpan.FromMilliseconds(200),
        });
        var failed = new TaskCompletionSource<ConnectionStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var connected = new TaskCompletionSource<ConnectionStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ConnectionStateChanged += (_, change) => (change.IsConnected ? connected : failed).TrySetResult(change);
        await client.StartAsync();
        ConnectionStateChangedEventArgs failure = await failed.Task.WaitAsync(Timeout);
        Assert.True(failure.NextAttemptIn >= TimeSpan.FromSeconds(30));
        Task delivered = client.PublishAsync("probe/t", "x");

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(port: port);
        var sinceBack = System.Diagnostics.Stopwatch.StartNew();
        await delivered.WaitAsync(TimeSpan.FromSeconds(10)); // Far less than the 30 s the backoff asked for.
        Assert.True((await connected.Task).IsConnected);
        Assert.True(sinceBack.Elapsed < TimeSpan.FromSeconds(10), $"connected {sinceBack.Elapsed} after the broker was back");
    }

    [Fact]
    public async Task A_state_file_in_a_missing_folder_or_not_a_database_fails_naming_the_file()
    {
        await using var clients = new TestClients();
        string missing = Path.Combine(clients.Folder, "no-such-folder", "state.db");
        await using var inMissingFolder = new MqttClient(clients.Options(1883, TestClients.NewClientId("missing")) with { StatePath = missing });
        DirectoryNotFoundException notFound = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => inMissingFolder.StartAsync());
        Assert.Contains(missing, notFound.Message, StringComparison.Ordinal);

        string garbage = Path.Combine(clients.Folder, "garbage.db");
        await File.WriteAllTextAsync(garbage, new string('x', 4096));
        await using var onGarbage = new MqttClient(clients.Options(1883, TestClients.NewClientId("garbage")) with { StatePath = garbage });
        IOException notDatabase = await Assert.ThrowsAsync<IOException>(() => onGarbage.StartAsync());
        Assert.Contains(garbage, notDatabase.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_file_of_schema_version_1_is_upgraded_and_its_pending_publish_still_goes_out()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        string clientId = TestClients.NewClientId("v1");
        using (var connection = new SqliteConnection($"Data Source={clients.StatePath(clientId)};Pooling=False"))
        {
            // What version 1 wrote: no message_id column, no delivered table.
            connection.Open();
            using SqliteCommand create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE client_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO client_meta VALUES ('client_id', $client), ('schema_version', '1');
                CREATE TABLE outgoing (seq INTEGER PRIMARY KEY AUTOINCREMENT, packet_id INTEGER UNIQUE, qos INTEGER NOT NULL,
                    released INTEGER NOT NULL DEFAULT 0, topic TEXT NOT NULL, packet BLOB NOT NULL, created_at INTEGER NOT NULL);
                INSERT INTO outgoing (packet_id, qos, topic, packet, created_at) VALUES (7, 2, 'v1/t', $packet, 0);
                """;
            create.Parameters.AddWithValue("$client", clientId);
            create.Parameters.AddWithValue("$packet", StoredPublish.Encode(new PublishPacket("v1/t", "from v1"u8.ToArray()) { QoS = QualityOfService.ExactlyOnce, PacketIdentifier = 1 }));
            create.ExecuteNonQuery();
        }

        MessageLog log = await clients.SubscribeAsync(broker, "v1/t");
        MqttClient client = clients.Create(clients.Options(broker, clientId));
        await client.StartAsync();

        Assert.True(await log.WaitForCountAsync(1, Timeout));
        Assert.Equal("from v1", log.Payloads[0]);
        Assert.Equal(PublishStatus.Stored, await client.Publish("v1/t", "with id", messageId: "x").Stored.WaitAsync(Timeout));
        Assert.NotEqual(PublishStatus.Stored, await client.Publish("v1/t", "with id", messageId: "x").Stored.WaitAsync(Timeout));
    }

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
