using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;
using Microsoft.Data.Sqlite;

namespace IoTPE.Client.Tests;

/// <summary>
/// The client's side of the QoS flows against a scripted broker, packet by packet: resends after reconnections and
/// restarts (spec 4.4), duplicates, acknowledgements held for failing handlers, a lost session, flow control.
/// </summary>
public sealed class ProtocolFlowTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly ConnAckPacket SessionPresent = new(ReasonCode.Success, sessionPresent: true);
    private readonly ScriptedBroker _broker = new();
    private readonly TestClients _clients = new();
    private readonly string _clientId = TestClients.NewClientId("scripted");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _clients.DisposeAsync();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task The_client_connects_with_clean_start_off_a_long_session_and_its_credentials()
    {
        MqttClient client = _clients.Create(Options() with { UserName = "user", Password = "secret", KeepAlive = TimeSpan.FromSeconds(17) });
        await client.StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync();

        Assert.False(connection.Connect.CleanStart);
        Assert.Equal(_clientId, connection.Connect.ClientIdentifier);
        Assert.Equal(uint.MaxValue, connection.Connect.SessionExpiryInterval);
        Assert.Equal("user", connection.Connect.UserName);
        Assert.Equal("secret"u8.ToArray(), connection.Connect.Password);
        Assert.Equal(17, connection.Connect.KeepAlive);
        await client.WaitUntilConnectedAsync().WaitAsync(Timeout);
    }

    [Fact]
    public async Task An_interrupted_qos2_publish_resumes_with_PUBREL_after_PUBREC_and_with_a_DUP_PUBLISH_before_it()
    {
        MqttClient client = await StartAsync();
        ScriptedConnection first = await _broker.AcceptAsync();
        Task a = client.PublishAsync("t/a", "A");
        Task b = client.PublishAsync("t/b", "B");
        PublishPacket publishA = await first.ExpectAsync<PublishPacket>();
        PublishPacket publishB = await first.ExpectAsync<PublishPacket>();
        Assert.False(publishA.Dup);
        Assert.NotEqual(publishA.PacketIdentifier, publishB.PacketIdentifier);
        await first.SendAsync(new PubRecPacket(publishA.PacketIdentifier));
        Assert.Equal(publishA.PacketIdentifier, (await first.ExpectAsync<PubRelPacket>()).PacketIdentifier);
        first.Drop();

        ScriptedConnection second = await _broker.AcceptAsync(SessionPresent);
        Assert.Equal(publishA.PacketIdentifier, (await second.ExpectAsync<PubRelPacket>()).PacketIdentifier); // Not the PUBLISH again.
        PublishPacket resent = await second.ExpectAsync<PublishPacket>();
        Assert.True(resent.Dup);
        Assert.Equal(publishB.PacketIdentifier, resent.PacketIdentifier);
        Assert.Equal("t/b", resent.GetTopicName());
        Assert.False(a.IsCompleted || b.IsCompleted);

        await second.SendAsync(new PubCompPacket(publishA.PacketIdentifier));
        await a.WaitAsync(Timeout);
        await second.SendAsync(new PubRecPacket(publishB.PacketIdentifier));
        await second.ExpectAsync<PubRelPacket>();
        await second.SendAsync(new PubCompPacket(publishB.PacketIdentifier));
        await b.WaitAsync(Timeout);
    }

    [Fact]
    public async Task After_a_restart_the_client_resends_PUBREL_with_the_stored_identifier_and_does_not_reuse_it()
    {
        MqttClient client = await StartAsync();
        ScriptedConnection first = await _broker.AcceptAsync();
        _ = client.PublishAsync("t/a", "A");
        PublishPacket publish = await first.ExpectAsync<PublishPacket>();
        await first.SendAsync(new PubRecPacket(publish.PacketIdentifier));
        await first.ExpectAsync<PubRelPacket>();
        await client.DisposeAsync();

        MqttClient restarted = await StartAsync();
        ScriptedConnection second = await _broker.AcceptAsync(SessionPresent);
        Assert.Equal(publish.PacketIdentifier, (await second.ExpectAsync<PubRelPacket>()).PacketIdentifier);
        var others = Enumerable.Range(0, 5).Select(i => restarted.PublishAsync("t/n", i.ToString(System.Globalization.CultureInfo.InvariantCulture), QualityOfService.AtLeastOnce)).ToList();
        for (int i = 0; i < 5; i++)
        {
            PublishPacket next = await second.ExpectAsync<PublishPacket>();
            Assert.NotEqual(publish.PacketIdentifier, next.PacketIdentifier); // Still held by the unfinished flow.
            await second.SendAsync(new PubAckPacket(next.PacketIdentifier));
        }

        await Task.WhenAll(others).WaitAsync(Timeout);
        await second.SendAsync(new PubCompPacket(publish.PacketIdentifier));
        Task last = restarted.PublishAsync("t/last", "z", QualityOfService.AtLeastOnce); // Acknowledged after the PUBCOMP was handled.
        await second.SendAsync(new PubAckPacket((await second.ExpectAsync<PublishPacket>()).PacketIdentifier));
        await last.WaitAsync(Timeout);
        await restarted.DisposeAsync(); // Releases the state file.
        Assert.Equal(0L, Query("SELECT count(*) FROM outgoing"));
    }

    [Fact]
    public async Task A_resent_qos2_PUBLISH_is_acknowledged_again_but_handed_over_once()
    {
        var log = new MessageLog();
        MqttClient client = await StartAsync(log);
        ScriptedConnection connection = await _broker.AcceptAsync();
        await AcknowledgeSubscribeAsync(connection);

        await connection.SendPublishAsync(7, "in/t", "first");
        Assert.Equal(7, (await connection.ExpectAsync<PubRecPacket>()).PacketIdentifier);
        await connection.SendPublishAsync(7, "in/t", "first", dup: true);
        Assert.Equal(7, (await connection.ExpectAsync<PubRecPacket>()).PacketIdentifier);
        await SendMarkerAsync(connection, 8);
        Assert.Equal(["marker"], log.Payloads); // "first" is handed over only once PUBREL says the broker is done with it.

        await connection.SendAsync(new PubRelPacket(7));
        Assert.Equal(7, (await connection.ExpectAsync<PubCompPacket>()).PacketIdentifier);
        Assert.Equal(["marker", "first"], log.Payloads);

        // After PUBCOMP the identifier is free: the same one now carries a new message.
        await connection.SendPublishAsync(7, "in/t", "second");
        await connection.ExpectAsync<PubRecPacket>();
        await connection.SendAsync(new PubRelPacket(7));
        await connection.ExpectAsync<PubCompPacket>();
        Assert.Equal(["marker", "first", "second"], log.Payloads);
        _ = client;
    }

    [Fact]
    public async Task A_qos2_message_received_before_a_restart_is_handed_over_once_after_it()
    {
        MqttClient client = await StartAsync(new MessageLog());
        ScriptedConnection first = await _broker.AcceptAsync();
        await AcknowledgeSubscribeAsync(first);
        await first.SendPublishAsync(9, "in/t", "kept");
        await first.ExpectAsync<PubRecPacket>();
        await client.DisposeAsync(); // PUBREC went out; the message is the client's now.

        var log = new MessageLog();
        await StartAsync(log);
        ScriptedConnection second = await _broker.AcceptAsync(SessionPresent);
        await AcknowledgeSubscribeAsync(second);
        await second.SendPublishAsync(9, "in/t", "kept", dup: true); // The broker did not see the PUBREC.
        Assert.Equal(9, (await second.ExpectAsync<PubRecPacket>()).PacketIdentifier);
        await SendMarkerAsync(second, 10);
        Assert.Equal(["marker"], log.Payloads); // Not handed over at the restart nor at the resent PUBLISH.
        await second.SendAsync(new PubRelPacket(9));
        await second.ExpectAsync<PubCompPacket>();

        Assert.Equal(["marker", "kept"], log.Payloads);
        MqttMessage message = log.Messages[1];
        Assert.Equal(1, message.DeliveryAttempt);
        Assert.False(message.IsRedelivery); // No handler had seen it.
    }

    [Fact]
    public async Task When_the_broker_lost_the_session_stored_messages_are_handed_over_and_their_identifiers_freed()
    {
        MqttClient client = await StartAsync(new MessageLog());
        ScriptedConnection first = await _broker.AcceptAsync();
        await AcknowledgeSubscribeAsync(first);
        await first.SendPublishAsync(11, "in/t", "orphan");
        await first.ExpectAsync<PubRecPacket>();
        await client.DisposeAsync();

        var log = new MessageLog();
        await StartAsync(log);
        ScriptedConnection second = await _broker.AcceptAsync(); // Session Present 0.
        await AcknowledgeSubscribeAsync(second); // The subscription is renewed.
        Assert.True(await log.WaitForCountAsync(1), "handed over without waiting for a PUBREL that will not come");
        Assert.Equal("orphan", log.Messages[0].GetPayloadAsString());

        await second.SendPublishAsync(11, "in/t", "new"); // The new session reuses identifier 11.
        await second.ExpectAsync<PubRecPacket>();
        await second.SendAsync(new PubRelPacket(11));
        await second.ExpectAsync<PubCompPacket>();
        Assert.Equal(["orphan", "new"], log.Payloads);
    }

    [Theory]
    [InlineData(QualityOfService.AtLeastOnce)]
    [InlineData(QualityOfService.ExactlyOnce)]
    public async Task The_acknowledgement_waits_until_the_handler_succeeded(QualityOfService qos)
    {
        int attempts = 0;
        MqttClient client = _clients.Create(Options());
        Task subscribed = client.SubscribeAsync("in/t", (_, _) => Interlocked.Increment(ref attempts) < 3
            ? throw new InvalidOperationException("not yet")
            : ValueTask.CompletedTask, qos);
        await client.StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync();
        await AcknowledgeSubscribeAsync(connection);
        await subscribed.WaitAsync(Timeout);

        await connection.SendPublishAsync(5, "in/t", "x", qos);
        if (qos == QualityOfService.ExactlyOnce)
        {
            await connection.ExpectAsync<PubRecPacket>();
            await connection.SendAsync(new PubRelPacket(5));
        }

        PublishAcknowledgementPacket ack = qos == QualityOfService.AtLeastOnce
            ? await connection.ExpectAsync<PubAckPacket>()
            : await connection.ExpectAsync<PubCompPacket>();
        Assert.Equal(5, ack.PacketIdentifier);
        Assert.Equal(3, Volatile.Read(ref attempts)); // Nothing went out before the third attempt succeeded.
    }

    [Fact]
    public async Task A_message_whose_handler_never_completes_across_restarts_is_dead_lettered_without_running_again()
    {
        var calls = new SignalledList<MqttMessage>();
        var deadLetters = new SignalledList<DeadLetter>();
        for (int run = 1; run <= 3; run++)
        {
            MqttClient client = _clients.Create(Options() with
            {
                HandlerMaxAttempts = 2,
                DeadLetterHandler = (letter, _) =>
                {
                    deadLetters.Add(letter);
                    return ValueTask.CompletedTask;
                },
            });
            _ = client.SubscribeAsync("in/t", async (message, token) =>
            {
                calls.Add(message);
                await Task.Delay(System.Threading.Timeout.Infinite, token); // As if it hung or killed the process.
            });
            await client.StartAsync();
            ScriptedConnection connection = await _broker.AcceptAsync(run == 1 ? null : SessionPresent);
            await AcknowledgeSubscribeAsync(connection);
            if (run == 1)
            {
                await connection.SendPublishAsync(3, "in/t", "poison");
                await connection.ExpectAsync<PubRecPacket>();
            }

            await connection.SendAsync(new PubRelPacket(3)); // Resent on each reconnection: no PUBCOMP came.
            if (run < 3)
            {
                Assert.True(await calls.WaitUntilAsync(c => c.Count == run, Timeout), $"{calls.Count} calls in run {run}");
                await client.DisposeAsync();
            }
            else
            {
                Assert.Equal(3, (await connection.ExpectAsync<PubCompPacket>()).PacketIdentifier);
            }
        }

        Assert.Equal(2, calls.Count); // Not a third time.
        Assert.True(await deadLetters.WaitUntilAsync(d => d.Count == 1, Timeout), "dead-lettered");
        Assert.Equal(DeadLetterReason.HandlerFailed, deadLetters.Items[0].Reason);
        Assert.Equal("poison", deadLetters.Items[0].Message.GetPayloadAsString());
    }

    [Fact]
    public async Task A_qos1_message_the_broker_resends_is_marked_as_a_possible_redelivery()
    {
        var log = new MessageLog();
        await StartAsync(log);
        ScriptedConnection connection = await _broker.AcceptAsync();
        await AcknowledgeSubscribeAsync(connection);
        await connection.SendPublishAsync(4, "in/t", "again", QualityOfService.AtLeastOnce, dup: true);
        await connection.ExpectAsync<PubAckPacket>();
        Assert.True(Assert.Single(log.Messages).IsRedelivery);
    }

    [Fact]
    public async Task The_client_sends_no_more_than_the_brokers_receive_maximum()
    {
        MqttClient client = await StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync(new ConnAckPacket(ReasonCode.Success) { ReceiveMaximum = 2 });
        var published = Enumerable.Range(0, 5).Select(i => client.PublishAsync("t", "x", QualityOfService.AtLeastOnce)).ToList();

        PublishPacket one = await connection.ExpectAsync<PublishPacket>();
        await connection.ExpectAsync<PublishPacket>();
        await connection.ExpectNothingAsync(TimeSpan.FromMilliseconds(300));
        await connection.SendAsync(new PubAckPacket(one.PacketIdentifier));
        PublishPacket three = await connection.ExpectAsync<PublishPacket>();
        Assert.NotEqual(one.PacketIdentifier, three.PacketIdentifier);
    }

    [Fact]
    public async Task A_publish_the_broker_refuses_fails_and_is_dead_lettered()
    {
        MqttClient client = await StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync();
        Task refused = client.PublishAsync("forbidden/t", "x");
        PublishPacket publish = await connection.ExpectAsync<PublishPacket>();
        await connection.SendAsync(new PubRecPacket(publish.PacketIdentifier, ReasonCode.NotAuthorized));

        var error = await Assert.ThrowsAsync<MqttRejectedException>(() => refused.WaitAsync(Timeout));
        Assert.Equal(ReasonCode.NotAuthorized, error.ReasonCode);
        await connection.ExpectNothingAsync(TimeSpan.FromMilliseconds(200)); // No PUBREL for a refused publish.
        await client.DisposeAsync();
        Assert.Equal(1L, Query("SELECT count(*) FROM dead_letter WHERE direction = 'out' AND reason = 'RejectedByBroker' AND topic = 'forbidden/t'"));
        Assert.Equal(0L, Query("SELECT count(*) FROM outgoing"));
    }

    [Fact]
    public async Task A_broker_limited_to_qos1_gets_qos2_publishes_as_qos1()
    {
        MqttClient client = await StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync(new ConnAckPacket(ReasonCode.Success) { MaximumQoS = QualityOfService.AtLeastOnce });
        Task published = client.PublishAsync("t", "x");
        PublishPacket publish = await connection.ExpectAsync<PublishPacket>();
        Assert.Equal(QualityOfService.AtLeastOnce, publish.QoS);
        await connection.SendAsync(new PubAckPacket(publish.PacketIdentifier));
        await published.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_silent_broker_is_left_after_the_keep_alive_and_the_client_reconnects()
    {
        MqttClient client = _clients.Create(Options() with { KeepAlive = TimeSpan.FromSeconds(1) });
        await client.StartAsync();
        ScriptedConnection first = await _broker.AcceptAsync();
        Assert.IsType<PingReqPacket>(await first.ReceiveAnyAsync(TimeSpan.FromSeconds(3))); // Not answered.
        ScriptedConnection second = await _broker.AcceptAsync(timeout: TimeSpan.FromSeconds(5));
        Assert.Equal(_clientId, second.Connect.ClientIdentifier);
    }

    [Fact]
    public async Task An_answered_idle_connection_pings_about_once_per_keep_alive_and_stays()
    {
        MqttClient client = _clients.Create(Options() with { KeepAlive = TimeSpan.FromSeconds(1) });
        await client.StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        int pings = 0;
        while (waited.Elapsed < TimeSpan.FromSeconds(3.5))
        {
            try
            {
                Assert.IsType<PingReqPacket>(await connection.ReceiveAnyAsync(TimeSpan.FromSeconds(3.5) - waited.Elapsed));
            }
            catch (OperationCanceledException)
            {
                break; // the window ended
            }

            pings++;
            await connection.SendAsync(PingRespPacket.Instance);
        }

        // §3.1.2.10: at least one packet every keep alive (here at 1, 2 and 3 s); not a busy loop.
        Assert.InRange(pings, 2, 4);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Messages_no_subscription_claims_are_dead_lettered_after_the_unhandled_message_timeout_each_time()
    {
        var deadLetters = new SignalledList<DeadLetter>();
        MqttClient client = _clients.Create(Options() with
        {
            UnhandledMessageTimeout = TimeSpan.FromSeconds(1),
            DeadLetterHandler = (letter, _) =>
            {
                deadLetters.Add(letter);
                return ValueTask.CompletedTask;
            },
        });
        await client.StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync();

        // Twice: the sweep sleeps without a timer while nothing waits, and must wake for the second.
        for (int n = 1; n <= 2; n++)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            await connection.SendPublishAsync((ushort)n, "nobody/listens", $"orphan {n}", QualityOfService.AtLeastOnce);
            Assert.True(await deadLetters.WaitUntilAsync(d => d.Count == n, Timeout), $"{deadLetters.Count} dead letters");
            Assert.True(waited.Elapsed >= TimeSpan.FromSeconds(0.9), $"dead-lettered after {waited.Elapsed}, before the timeout");
            Assert.Equal(DeadLetterReason.NoHandler, deadLetters.Items[n - 1].Reason);
            Assert.Equal($"orphan {n}", deadLetters.Items[n - 1].Message.GetPayloadAsString());
            Assert.Equal(n, (await connection.ExpectAsync<PubAckPacket>()).PacketIdentifier); // dead-lettered is handled
        }
    }

    [Fact]
    public async Task Mqtt311_sessions_use_the_311_encoding_and_no_properties()
    {
        MqttClient client = _clients.Create(Options() with { ProtocolVersion = MqttProtocolVersion.V311 });
        await client.StartAsync();
        ScriptedConnection connection = await _broker.AcceptAsync(new ConnAckPacket(ConnectReturnCode.Accepted));
        Assert.Equal(MqttProtocolVersion.V311, connection.Version);
        Assert.False(connection.Connect.CleanSession);
        Task published = client.PublishAsync("t", "x", QualityOfService.AtLeastOnce);
        PublishPacket publish = await connection.ExpectAsync<PublishPacket>();
        Assert.Null(publish.Properties);
        await connection.SendAsync(new PubAckPacket(publish.PacketIdentifier));
        await published.WaitAsync(Timeout);
    }

    private MqttClientOptions Options() => _clients.Options(_broker.Port, _clientId) with
    {
        KeepAlive = TimeSpan.FromSeconds(60),
        ReconnectBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)),
    };

    private async Task<MqttClient> StartAsync(MessageLog? log = null)
    {
        MqttClient client = _clients.Create(Options());
        if (log is not null)
        {
            _ = client.SubscribeAsync("in/#", log.Handler);
        }

        await client.StartAsync();
        return client;
    }

    private static async Task AcknowledgeSubscribeAsync(ScriptedConnection connection)
    {
        SubscribePacket subscribe = await connection.ExpectAsync<SubscribePacket>();
        await connection.SendAsync(new SubAckPacket(subscribe.PacketIdentifier, subscribe.Subscriptions.Select(s => (ReasonCode)(byte)s.Options.MaximumQoS).ToList()));
    }

    /// <summary>
    /// A QoS 1 "marker" on in/marker, and its PUBACK, which the client sends after the handler took it: messages are
    /// handed over one at a time, in order, so whatever had been handed over before the marker is in the log by now.
    /// </summary>
    private static async Task SendMarkerAsync(ScriptedConnection connection, ushort packetId)
    {
        await connection.SendPublishAsync(packetId, "in/marker", "marker", QualityOfService.AtLeastOnce);
        Assert.Equal(packetId, (await connection.ExpectAsync<PubAckPacket>()).PacketIdentifier);
    }

    private long Query(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_clients.StatePath(_clientId)};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
