using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>Malformed packets, oversized packets, silent clients and floods cost only the offending connection.</summary>
public sealed class BrokerBadInputTests : IAsyncLifetime
{
    // MQTT 5.0 CONNECT, client id "raw", clean start, keep alive 60, no properties.
    private const string Connect5 = "10 10 0004 4D515454 05 02 003C 00 0003 726177";

    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _config = Path.GetTempFileName();
        await File.WriteAllTextAsync(_config, """
            { "broker": { "connectTimeoutSeconds": 2, "maximumPacketSize": 4096, "maxConnections": 50 } }
            """);
        _server = await IotpeServer.StartAsync(["--config", _config]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    [Fact]
    public async Task Garbage_instead_of_CONNECT_closes_that_connection_only()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        await raw.SendAsync(RawConnection.Hex("FF FF FF FF FF 00 01 02"));
        (_, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        await AssertOthersAreServedAsync();
        Assert.True(await _server.WaitForOutputAsync("Refused connection"), _server.Output);
    }

    [Fact]
    public async Task Malformed_PUBLISH_gets_DISCONNECT_with_Malformed_Packet()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        await raw.SendAsync(RawConnection.Hex(Connect5));
        byte[] connack = await raw.ReadAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal(0x20, connack[0]);
        _ = await raw.ReadAsync(connack[1], TimeSpan.FromSeconds(5));
        // PUBLISH with QoS 3 (both QoS bits set): malformed (§3.3.1.2).
        await raw.SendAsync(RawConnection.Hex("36 07 0003 612F62 00 78"));
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        Assert.True(received.Length >= 3 && received[0] == 0xE0 && received[2] == 0x81, "expected DISCONNECT 0x81, got " + Convert.ToHexString(received));
        await AssertOthersAreServedAsync();
    }

    [Fact]
    public async Task Oversized_packet_is_refused_before_its_body_arrives()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        await raw.SendAsync(RawConnection.Hex(Connect5));
        byte[] connack = await raw.ReadAsync(2, TimeSpan.FromSeconds(5));
        _ = await raw.ReadAsync(connack[1], TimeSpan.FromSeconds(5));
        // A PUBLISH announcing 1 MB (above the configured 4096) — only the header is sent.
        await raw.SendAsync(RawConnection.Hex("30 80 80 40"));
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        Assert.True(received.Length >= 3 && received[0] == 0xE0 && received[2] == 0x95, "expected DISCONNECT 0x95, got " + Convert.ToHexString(received));
    }

    [Fact]
    public async Task Unsupported_protocol_version_gets_CONNACK_0x01_in_311_form()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        await raw.SendAsync(RawConnection.Hex("10 0F 0004 4D515454 07 02 003C 0003 726177"));
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed);
        Assert.Equal(RawConnection.Hex("20 02 00 01"), received);
    }

    [Fact]
    public async Task A_client_that_never_sends_CONNECT_is_dropped()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        (_, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(6));
        Assert.True(closed);
    }

    [Fact]
    public async Task A_client_silent_past_its_keep_alive_is_disconnected_with_0x8D()
    {
        using RawConnection raw = await RawConnection.OpenAsync(_server.Port);
        // Keep alive 1 s.
        await raw.SendAsync(RawConnection.Hex("10 10 0004 4D515454 05 02 0001 00 0003 726177"));
        byte[] connack = await raw.ReadAsync(2, TimeSpan.FromSeconds(5));
        _ = await raw.ReadAsync(connack[1], TimeSpan.FromSeconds(5));
        (byte[] received, bool closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(6));
        Assert.True(closed);
        Assert.True(received.Length >= 3 && received[0] == 0xE0 && received[2] == 0x8D, "expected DISCONNECT 0x8D, got " + Convert.ToHexString(received));
    }

    [Fact]
    public async Task Clients_cannot_publish_to_SYS_topics()
    {
        using OutputCollector sub = await MosquittoClients.StartSubscriberAsync(_server.Port, "-V", "mqttv5", "-t", "$SYS/fake", "-v");
        await MosquittoClients.PublishAsync(_server.Port, "-V", "mqttv5", "-q", "1", "-t", "$SYS/fake", "-m", "spoof");
        // The broker refuses a PUBLISH instead of routing it, so once the refusal is logged and the
        // QoS 1 publisher has its answer, no delivery of it can follow.
        Assert.True(await _server.WaitForOutputAsync("Refused PUBLISH from"), _server.Output);
        Assert.Empty(sub.Lines);
        Assert.Contains("to '$SYS/fake': NotAuthorized", _server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_limit_refuses_extra_connections_and_keeps_serving()
    {
        var held = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 50; i++)
            {
                held.Add(await RawConnection.OpenAsync(_server.Port));
            }
            using RawConnection extra = await RawConnection.OpenAsync(_server.Port);
            (_, bool closed) = await extra.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
            Assert.True(closed);
            Assert.True(await _server.WaitForOutputAsync("connection limit of 50 reached"), _server.Output);
        }
        finally
        {
            foreach (RawConnection c in held)
            {
                c.Dispose();
            }
        }
        // The broker frees the 50 slots as it sees the connections close: wait for that (a publish
        // getting through) rather than for a fixed time.
        var freeing = System.Diagnostics.Stopwatch.StartNew();
        while (freeing.Elapsed < TimeSpan.FromSeconds(10)
            && (await MosquittoClients.PublishAsync(_server.Port, "-q", "1", "-t", "alive/check", "-m", "yes")).ExitCode != 0)
        {
        }
        await AssertOthersAreServedAsync();
    }

    /// <summary>mosquitto_pub at QoS 1 exits 0 only after the broker's PUBACK.</summary>
    private async Task AssertOthersAreServedAsync()
    {
        ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, "-q", "1", "-t", "alive/check", "-m", "yes");
        Assert.True(pub.ExitCode == 0, "the broker stopped serving others: " + pub.StandardError);
    }
}
