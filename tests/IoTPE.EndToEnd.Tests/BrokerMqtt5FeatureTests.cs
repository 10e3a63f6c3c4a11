using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>MQTT 5.0 server behaviour, checked with MQTT.js sessions against the published binary.</summary>
public sealed class BrokerMqtt5FeatureTests : IAsyncLifetime
{
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _config = Path.GetTempFileName();
        await File.WriteAllTextAsync(_config, """{ "broker": { "maxKeepAlive": 30, "receiveMaximum": 10 } }""");
        _server = await IotpeServer.StartAsync(["--config", _config]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    private string Url => $"mqtt://127.0.0.1:{_server.Port}";

    private JsonObject Plan(string clientId, JsonArray? subscribe = null, JsonArray? publish = null, int stayMs = 800) => new()
    {
        ["url"] = Url,
        ["clientId"] = clientId,
        ["subscribe"] = subscribe ?? [],
        ["publish"] = publish ?? [],
        ["stayMs"] = stayMs,
    };

    private async Task<OutputCollector> SubscribeAsync(JsonObject plan)
    {
        OutputCollector session = MqttSessionPlan.Start(plan);
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.WaitForAsync(session, "suback");
        Assert.NotEmpty(events.OfKind("suback"));
        return session;
    }

    [Fact]
    public async Task Connack_assigns_a_client_identifier_and_announces_limits()
    {
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.RunAsync(new JsonObject { ["url"] = Url, ["clientId"] = "", ["keepalive"] = 60, ["stayMs"] = 100 });
        JsonObject connack = events.OfKind("connack").Single();
        JsonObject properties = connack["properties"]!.AsObject();
        Assert.StartsWith("iotpe-", (string?)properties["assignedClientIdentifier"], StringComparison.Ordinal);
        Assert.Equal(30, (int?)properties["serverKeepAlive"]); // the client asked for 60
        Assert.Equal(10, (int?)properties["receiveMaximum"]);
        Assert.NotNull(properties["topicAliasMaximum"]);
    }

    [Fact]
    public async Task Properties_pass_through_and_subscription_identifiers_are_added()
    {
        using OutputCollector sub = await SubscribeAsync(new JsonObject
        {
            ["url"] = Url, ["clientId"] = "props-sub", ["stayMs"] = 5000, ["exitAfterMessages"] = 1,
            ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "req/#", ["qos"] = 1 }),
            ["subscribeProperties"] = new JsonObject { ["subscriptionIdentifier"] = 42 },
        });
        await MqttSessionPlan.RunAsync(Plan("props-pub", publish: new JsonArray(new JsonObject
        {
            ["topic"] = "req/calc", ["payload"] = "{\"a\":1}", ["qos"] = 1,
            ["properties"] = new JsonObject
            {
                ["responseTopic"] = "resp/calc", ["correlationData"] = "abc-1", ["contentType"] = "application/json",
                ["userProperties"] = new JsonObject { ["trace"] = "t-1" },
            },
        })));
        JsonObject message = (await MqttSessionPlan.WaitForAsync(sub, "message")).OfKind("message").Single();
        JsonObject p = message["properties"]!.AsObject();
        Assert.Equal("resp/calc", (string?)p["responseTopic"]);
        Assert.Equal("abc-1", (string?)p["correlationData"]);
        Assert.Equal("application/json", (string?)p["contentType"]);
        Assert.Equal("t-1", (string?)p["userProperties"]!["trace"]);
        Assert.Equal(42, (int?)p["subscriptionIdentifier"]);
    }

    [Fact]
    public async Task Overlapping_subscriptions_deliver_once_at_the_highest_qos()
    {
        using OutputCollector sub = await SubscribeAsync(Plan("overlap-sub", subscribe: new JsonArray(
            new JsonObject { ["topic"] = "o/#", ["qos"] = 0 },
            new JsonObject { ["topic"] = "o/+/x", ["qos"] = 2 }), stayMs: 3000));
        // A second message, matched by one filter only, after it: a duplicate of the first would have
        // been routed, and delivered on this connection, before it.
        await MqttSessionPlan.RunAsync(Plan("overlap-pub", publish: new JsonArray(
            new JsonObject { ["topic"] = "o/a/x", ["payload"] = "once", ["qos"] = 2 },
            new JsonObject { ["topic"] = "o/sentinel", ["payload"] = "sentinel", ["qos"] = 2 })));
        await MqttSessionPlan.WaitForAsync(sub, "message", count: 2);
        JsonObject[] messages = [.. MqttSessionPlan.Events(sub).OfKind("message").Where(m => (string?)m["payload"] != "sentinel")];
        JsonObject single = Assert.Single(messages);
        Assert.Equal(2, (int?)single["qos"]);
    }

    [Fact]
    public async Task No_local_keeps_a_clients_own_messages_from_it()
    {
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.RunAsync(Plan("nolocal",
            subscribe: new JsonArray(new JsonObject { ["topic"] = "echo/#", ["qos"] = 1, ["nl"] = true }, new JsonObject { ["topic"] = "loop/#", ["qos"] = 1 }),
            publish: new JsonArray(new JsonObject { ["topic"] = "echo/1", ["payload"] = "x", ["qos"] = 1 }, new JsonObject { ["topic"] = "loop/1", ["payload"] = "y", ["qos"] = 1 })));
        Assert.Equal(["loop/1"], events.OfKind("message").Select(m => (string)m["topic"]!));
    }

    [Fact]
    public async Task Retain_as_published_keeps_the_retain_flag_on_forwarded_messages()
    {
        using OutputCollector keep = await SubscribeAsync(Plan("rap-keep", subscribe: new JsonArray(new JsonObject { ["topic"] = "rap/#", ["qos"] = 1, ["rap"] = true, ["rh"] = 2 }), stayMs: 3000));
        using OutputCollector plain = await SubscribeAsync(Plan("rap-plain", subscribe: new JsonArray(new JsonObject { ["topic"] = "rap/#", ["qos"] = 1, ["rh"] = 2 }), stayMs: 3000));
        await MqttSessionPlan.RunAsync(Plan("rap-pub", publish: new JsonArray(new JsonObject { ["topic"] = "rap/1", ["payload"] = "r", ["qos"] = 1, ["retain"] = true })));
        JsonObject kept = (await MqttSessionPlan.WaitForAsync(keep, "message")).OfKind("message").Single();
        JsonObject cleared = (await MqttSessionPlan.WaitForAsync(plain, "message")).OfKind("message").Single();
        Assert.True((bool?)kept["retain"]);
        Assert.False((bool?)cleared["retain"]);
    }

    [Fact]
    public async Task Retain_handling_2_sends_no_retained_messages_at_subscribe()
    {
        await MqttSessionPlan.RunAsync(Plan("rh-pub", publish: new JsonArray(new JsonObject { ["topic"] = "rh/1", ["payload"] = "r", ["qos"] = 1, ["retain"] = true })));
        IReadOnlyList<JsonObject> none = await MqttSessionPlan.RunAsync(Plan("rh-2", subscribe: new JsonArray(new JsonObject { ["topic"] = "rh/#", ["qos"] = 1, ["rh"] = 2 })));
        IReadOnlyList<JsonObject> some = await MqttSessionPlan.RunAsync(Plan("rh-0", subscribe: new JsonArray(new JsonObject { ["topic"] = "rh/#", ["qos"] = 1, ["rh"] = 0 })));
        Assert.Empty(none.OfKind("message"));
        Assert.Equal(["r"], some.OfKind("message").Select(m => (string)m["payload"]!));
    }

    [Fact]
    public async Task Shared_subscription_gives_each_message_to_one_member()
    {
        using OutputCollector a = await SubscribeAsync(Plan("share-a", subscribe: new JsonArray(new JsonObject { ["topic"] = "$share/workers/jobs/#", ["qos"] = 1 }), stayMs: 4000));
        using OutputCollector b = await SubscribeAsync(Plan("share-b", subscribe: new JsonArray(new JsonObject { ["topic"] = "$share/workers/jobs/#", ["qos"] = 1 }), stayMs: 4000));
        var publish = new JsonArray();
        for (int i = 0; i < 10; i++)
        {
            publish.Add(new JsonObject { ["topic"] = "jobs/j", ["payload"] = $"job{i}", ["qos"] = 1 });
        }
        await MqttSessionPlan.RunAsync(Plan("share-pub", publish: publish));
        Assert.True(await a.WaitUntilAsync(() => MqttSessionPlan.Events(a).OfKind("message").Count() + MqttSessionPlan.Events(b).OfKind("message").Count() >= 10));
        string[] gotA = [.. MqttSessionPlan.Events(a).OfKind("message").Select(m => (string)m["payload"]!)];
        string[] gotB = [.. MqttSessionPlan.Events(b).OfKind("message").Select(m => (string)m["payload"]!)];
        Assert.Equal(10, gotA.Length + gotB.Length);
        Assert.Empty(gotA.Intersect(gotB));
        Assert.NotEmpty(gotA);
        Assert.NotEmpty(gotB);
    }

    [Fact]
    public async Task Expired_messages_are_not_delivered_to_a_returning_session()
    {
        JsonObject Subscriber() => new()
        {
            ["url"] = Url, ["clientId"] = "expiry-sub", ["clean"] = false, ["stayMs"] = 300,
            ["connectProperties"] = new JsonObject { ["sessionExpiryInterval"] = 300 },
            ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "exp/#", ["qos"] = 1 }),
        };
        await MqttSessionPlan.RunAsync(Subscriber());
        await MqttSessionPlan.RunAsync(Plan("expiry-pub", publish: new JsonArray(
            new JsonObject { ["topic"] = "exp/short", ["payload"] = "gone", ["qos"] = 1, ["properties"] = new JsonObject { ["messageExpiryInterval"] = 1 } },
            new JsonObject { ["topic"] = "exp/long", ["payload"] = "kept", ["qos"] = 1, ["properties"] = new JsonObject { ["messageExpiryInterval"] = 300 } })));
        // The expiry is the event, and only time brings it: past the 1 s interval at whole-second granularity.
        await Task.Delay(2500);
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.RunAsync(Subscriber());
        JsonObject message = Assert.Single(events.OfKind("message"));
        Assert.Equal("kept", (string?)message["payload"]);
        int remaining = (int)message["properties"]!["messageExpiryInterval"]!;
        Assert.InRange(remaining, 1, 298); // the time it waited is subtracted
    }

    [Fact]
    public async Task Topic_alias_from_the_client_is_resolved()
    {
        using OutputCollector sub = await SubscribeAsync(Plan("alias-sub", subscribe: new JsonArray(new JsonObject { ["topic"] = "alias/#", ["qos"] = 1 }), stayMs: 3000));
        await MqttSessionPlan.RunAsync(Plan("alias-pub", publish: new JsonArray(
            new JsonObject { ["topic"] = "alias/long/topic/name", ["payload"] = "first", ["qos"] = 1, ["properties"] = new JsonObject { ["topicAlias"] = 3 } },
            new JsonObject { ["topic"] = "", ["payload"] = "second", ["qos"] = 1, ["properties"] = new JsonObject { ["topicAlias"] = 3 } })));
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.WaitForAsync(sub, "message", 2);
        Assert.Equal(["alias/long/topic/name first", "alias/long/topic/name second"], events.OfKind("message").Select(m => $"{m["topic"]} {m["payload"]}"));
    }

    [Fact]
    public async Task Topic_alias_above_the_maximum_is_a_protocol_violation()
    {
        // MQTT.js will not send an alias above the server's maximum, so this client is hand-made.
        using RawConnection raw = await ConnectRawAsync();
        await raw.SendAsync(RawConnection.Hex("30 08 0001 74 03 23EA60 78")); // PUBLISH "t", Topic Alias 60000
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        Assert.Equal(RawConnection.Hex("E0"), received[..1]);
        Assert.Equal(0x94, received[2]);
    }

    [Fact]
    public async Task Receive_maximum_exceeded_disconnects_with_0x93()
    {
        using RawConnection raw = await ConnectRawAsync();
        // Eleven QoS 1 PUBLISH packets in one write: more than the configured Receive Maximum of 10.
        var flood = new List<byte>();
        for (int id = 1; id <= 11; id++)
        {
            flood.AddRange([0x32, 0x07, 0x00, 0x01, (byte)'t', 0x00, (byte)id, 0x00, (byte)'x']);
        }
        await raw.SendAsync([.. flood]);
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        int disconnect = Array.IndexOf(received, (byte)0xE0);
        Assert.True(disconnect >= 0 && received[disconnect + 2] == 0x93, "expected DISCONNECT 0x93 in " + Convert.ToHexString(received));
    }

    /// <summary>A hand-made MQTT 5.0 client, connected (CONNACK read).</summary>
    private async Task<RawConnection> ConnectRawAsync()
    {
        RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        await raw.SendAsync(RawConnection.Hex("10 10 0004 4D515454 05 02 003C 00 0003 726177"));
        byte[] connack = await raw.ReadAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal(0x20, connack[0]);
        _ = await raw.ReadAsync(connack[1], TimeSpan.FromSeconds(5));
        return raw;
    }

    [Fact]
    public async Task Client_maximum_packet_size_is_respected_when_sending()
    {
        using OutputCollector sub = await SubscribeAsync(new JsonObject
        {
            ["url"] = Url, ["clientId"] = "small-sub", ["stayMs"] = 3000,
            ["connectProperties"] = new JsonObject { ["maximumPacketSize"] = 100 },
            ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "size/#", ["qos"] = 1 }),
        });
        await MqttSessionPlan.RunAsync(Plan("size-pub", publish: new JsonArray(
            new JsonObject { ["topic"] = "size/big", ["payload"] = new string('x', 500), ["qos"] = 1 },
            new JsonObject { ["topic"] = "size/small", ["payload"] = "fits", ["qos"] = 1 })));
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.WaitForAsync(sub, "message");
        Assert.Equal(["size/small"], events.OfKind("message").Select(m => (string)m["topic"]!));
    }
}
