using System.Text;
using System.Text.Json;
using IoTPE.Client.Commands;
using IoTPE.Client.Session;
using IoTPE.Client.Storage;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

/// <summary>The parts that need no broker: backoff, identifiers, the stored form of messages, the command wire format, the state file's guards.</summary>
public sealed class UnitTests
{
    [Fact]
    public void Backoff_doubles_up_to_the_cap_and_jitters_within_the_upper_half()
    {
        var policy = new BackoffPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        for (int i = 0; i < 200; i++)
        {
            Assert.InRange(policy.GetDelay(1).TotalMilliseconds, 50, 100);
            Assert.InRange(policy.GetDelay(3).TotalMilliseconds, 200, 400);
            Assert.InRange(policy.GetDelay(50).TotalMilliseconds, 500, 1000);
        }

        var delays = Enumerable.Range(0, 50).Select(_ => policy.GetDelay(2)).Distinct().Count();
        Assert.True(delays > 10, "the delays are jittered");
    }

    [Fact]
    public void Packet_identifiers_are_unique_round_robin_and_reserved_ones_are_skipped()
    {
        var pool = new PacketIdentifierPool();
        pool.Reserve(2);
        Assert.Equal(1, pool.Rent());
        Assert.Equal(3, pool.Rent()); // 2 is in use (read from the state file).
        pool.Return(1);
        Assert.Equal(4, pool.Rent()); // Round robin: 1 is not reused at once.
        var all = new HashSet<ushort>();
        ushort id;
        while ((id = pool.Rent()) != 0)
        {
            Assert.True(all.Add(id));
        }

        Assert.Equal(ushort.MaxValue, pool.Count);
        pool.Return(1000);
        Assert.Equal(0, pool.Rent(keepFree: 1)); // The last free one is kept for SUBSCRIBE.
        Assert.Equal(1000, pool.Rent());
    }

    [Fact]
    public void A_stored_publish_keeps_topic_payload_flags_and_properties()
    {
        var packet = new PublishPacket("a/b", Encoding.UTF8.GetBytes("payload"))
        {
            QoS = QualityOfService.ExactlyOnce,
            PacketIdentifier = 4711,
            Dup = true,
            Retain = true,
            Properties = new PublishProperties { ContentType = "text/plain", UserProperties = [new UserProperty("a", "b")], MessageExpiryInterval = 60 },
        };

        PublishPacket stored = StoredPublish.Decode(StoredPublish.Encode(packet));

        Assert.Equal("a/b", stored.GetTopicName());
        Assert.Equal("payload", Encoding.UTF8.GetString(stored.Payload.Span));
        Assert.Equal(QualityOfService.ExactlyOnce, stored.QoS);
        Assert.True(stored.Retain);
        Assert.False(stored.Dup);
        Assert.Equal(1, stored.PacketIdentifier); // The real one is kept in its own column.
        Assert.Equal("text/plain", stored.Properties!.ContentType);
        Assert.Equal(60u, stored.Properties.MessageExpiryInterval);
        Assert.Equal([new UserProperty("a", "b")], stored.Properties.UserProperties);
        Assert.Throws<InvalidDataException>(() => StoredPublish.Decode([0x30, 0x05, 0x00]));
    }

    [Fact]
    public void Command_messages_have_the_documented_shape()
    {
        using JsonDocument payload = JsonDocument.Parse("{\"n\":1}");
        PublishPacket call = CommandWire.Call("cmd/x", "id-1", writer => payload.RootElement.WriteTo(writer));
        Assert.Equal("cmd/x", call.GetTopicName());
        Assert.Equal("{\"messageId\":\"id-1\",\"payload\":{\"n\":1}}", Encoding.UTF8.GetString(call.Payload.Span));
        Assert.Equal(QualityOfService.ExactlyOnce, call.QoS);
        Assert.Equal("cmd/x/resolve", call.Properties!.ResponseTopic);
        Assert.Equal("id-1"u8.ToArray(), call.Properties.CorrelationData);
        Assert.Equal("application/json", call.Properties.ContentType);

        Assert.True(CommandWire.TryReadCall(call.Payload, out string id, out JsonElement read, out _));
        Assert.Equal("id-1", id);
        Assert.Equal(1, read.GetProperty("n").GetInt32());

        using JsonDocument result = JsonDocument.Parse("[true]");
        PublishPacket resolve = CommandWire.Resolve("cmd/x", "id-1", result.RootElement);
        Assert.Equal("cmd/x/resolve", resolve.GetTopicName());
        Assert.Equal("{\"messageId\":\"id-1\",\"result\":[true]}", Encoding.UTF8.GetString(resolve.Payload.Span));

        using JsonDocument details = JsonDocument.Parse("{\"field\":\"n\"}");
        PublishPacket reject = CommandWire.Reject("cmd/x", "id-1", new CommandError("bad", "invalid", details.RootElement));
        Assert.Equal("cmd/x/reject", reject.GetTopicName());
        Assert.Equal("{\"messageId\":\"id-1\",\"error\":{\"message\":\"bad\",\"code\":\"invalid\",\"details\":{\"field\":\"n\"}}}", Encoding.UTF8.GetString(reject.Payload.Span));
        Assert.True(CommandWire.TryReadResult("cmd/x", rejected: true, reject.Payload, out CommandResult? rejected, out _));
        Assert.False(rejected!.IsResolved);
        Assert.Equal("bad", rejected.Error!.Message);
        Assert.Equal("invalid", rejected.Error.Code);
        Assert.Equal("n", rejected.Error.Details!.Value.GetProperty("field").GetString());

        PublishPacket cancel = CommandWire.Cancel("cmd/x", "id-1");
        Assert.Equal("cmd/x/cancel", cancel.GetTopicName());
        Assert.Equal("{\"messageId\":\"id-1\"}", Encoding.UTF8.GetString(cancel.Payload.Span));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1]")]
    [InlineData("{\"payload\":1}")]
    [InlineData("{\"messageId\":7}")]
    [InlineData("{\"messageId\":\"\"}")]
    public void Calls_without_a_message_id_are_refused(string json)
    {
        Assert.False(CommandWire.TryReadCall(Encoding.UTF8.GetBytes(json), out _, out _, out string problem));
        Assert.NotEmpty(problem);
    }

    [Fact]
    public void Results_from_other_implementations_are_read_leniently()
    {
        Assert.True(CommandWire.TryReadResult("c", rejected: false, "{\"messageId\":\"m\"}"u8.ToArray(), out CommandResult? noResult, out _));
        Assert.True(noResult!.IsResolved);
        Assert.Equal(JsonValueKind.Null, noResult.Result.ValueKind);

        Assert.True(CommandWire.TryReadResult("c", rejected: true, "{\"messageId\":\"m\",\"error\":\"plain text\"}"u8.ToArray(), out CommandResult? text, out _));
        Assert.Equal("plain text", text!.Error!.Message);

        Assert.True(CommandWire.TryReadResult("c", rejected: true, "{\"messageId\":\"m\",\"error\":{\"ok\":false}}"u8.ToArray(), out CommandResult? noMessage, out _));
        Assert.Equal("{\"ok\":false}", noMessage!.Error!.Message);
    }

    [Theory]
    [InlineData("a/#")]
    [InlineData("$share/g/a")]
    [InlineData("a//+/#")]
    [InlineData("")]
    [InlineData("cmd/x/resolve")]
    [InlineData("cmd/x/cancel")]
    public void Command_topics_must_not_catch_their_own_results(string topic) =>
        Assert.Throws<ArgumentException>(() => CommandWire.ValidateTopic(topic));

    [Fact]
    public void Options_are_checked()
    {
        static MqttClientOptions Valid() => new() { Host = "h", ClientId = "c", StatePath = "s.db" };
        _ = new MqttClient(Valid());
        Assert.Throws<ArgumentException>(() => new MqttClient(new MqttClientOptions { Host = "h", ClientId = "", StatePath = "s" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", StatePath = "s", Port = 0 }));
        Assert.Throws<ArgumentException>(() => new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", StatePath = "s", ProtocolVersion = MqttProtocolVersion.V311, Password = "p" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", StatePath = "s", HandlerMaxAttempts = 0 }));
        Assert.Throws<ArgumentException>(() => new MqttClient(new MqttClientOptions { Host = "h", ClientId = "c", StatePath = "s", ReconnectBackoff = new BackoffPolicy(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)) }));
        Assert.Equal(uint.MaxValue, Valid().SessionExpirySeconds);
    }

    [Fact]
    public async Task A_state_file_serves_one_client_identifier_and_one_client_at_a_time()
    {
        await using var clients = new TestClients();
        int port = BrokerProcessPorts.Unused();
        MqttClientOptions options = clients.Options(port, "owner");
        MqttClient first = clients.Create(options);
        await first.StartAsync();

        MqttClient second = clients.Create(options);
        var inUse = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());
        Assert.Contains("in use", inUse.Message, StringComparison.Ordinal);

        await first.DisposeAsync();
        MqttClient other = clients.Create(new MqttClientOptions { Host = "127.0.0.1", Port = port, ClientId = "someone-else", StatePath = options.StatePath });
        var wrongOwner = await Assert.ThrowsAsync<InvalidOperationException>(() => other.StartAsync());
        Assert.Contains("belongs to client 'owner'", wrongOwner.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_clients_state_file_can_be_read_by_another_connection_and_shows_its_pending_publishes()
    {
        await using var clients = new TestClients();
        // No broker: the publishes stay pending in the state file.
        MqttClientOptions options = clients.Options(BrokerProcessPorts.Unused(), "readable");
        MqttClient client = clients.Create(options);
        await client.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(PublishStatus.Stored, await client.Publish("pending/" + i, "x", messageId: "p" + i).Stored);
        }

        // A read-only reader elsewhere (iotpe bridge status) sees the last commit while the client keeps the file.
        using var reader = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = options.StatePath,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ConnectionString);
        reader.Open();
        using Microsoft.Data.Sqlite.SqliteCommand count = reader.CreateCommand();
        count.CommandText = "SELECT count(*) FROM outgoing";
        Assert.Equal(3L, count.ExecuteScalar());

        Assert.Equal(PublishStatus.Stored, await client.Publish("pending/3", "x", messageId: "p3").Stored);
        Assert.Equal(4L, count.ExecuteScalar());
    }

    [Fact]
    public async Task Publishing_needs_a_started_client_and_a_valid_topic()
    {
        await using var clients = new TestClients();
        MqttClient client = clients.Create(clients.Options(BrokerProcessPorts.Unused(), "not-started"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.PublishAsync("t", "x"));
        await client.StartAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => client.PublishAsync("a/+", "x"));
        await Assert.ThrowsAsync<ArgumentException>(() => client.SubscribeAsync("a/#/b", (_, _) => ValueTask.CompletedTask));
    }
}
