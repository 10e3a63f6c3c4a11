using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 12, case 4: a full disk costs only its cause. The published binary on a real 64 MiB tmpfs:
/// one account floods QoS 1 messages into an offline session until the disk reserve refuses them
/// (0x97, never 0x80); another account's grant request and run request still work, its script's
/// database write fails with "disk reserve reached"; once the queue is drained the flooder
/// publishes again, and the disk never filled. Without a reserve, a disk that really fills fails
/// commits (0x80) and, once space returns, commits work again without a restart.
/// </summary>
public sealed class DiskReserveTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private const int PayloadBytes = 64 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly string _mount = Directory.CreateTempSubdirectory("iotpe-tmpfs-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("iotpe-disk-").FullName;
    private IotpeServer? _server;

    public async Task InitializeAsync()
    {
        ProcessRun mount = await ProcessRun.RunAsync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", _mount], Timeout);
        Assert.True(mount.ExitCode == 0,
            $"mounting a 64 MiB tmpfs on {_mount} failed (the test needs root and mount): {mount.StandardError}");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        ProcessRun umount = await ProcessRun.RunAsync("umount", [_mount], Timeout);
        Directory.Delete(_mount, recursive: true);
        Directory.Delete(_outside, recursive: true);
        Assert.Equal(0, umount.ExitCode);
    }

    [Fact]
    public async Task A_flooding_account_is_refused_at_the_reserve_while_other_accounts_control_and_runs_keep_working()
    {
        // 24 MiB reserve (floor 3 MiB) on 64 MiB; the account queue quota is lifted so that the disk is the limit.
        IotpeServer server = await StartAsync("""{ "storage": { "diskReserveBytes": 25165824 }, "broker": { "maxQueuedBytesPerAccount": 1073741824 } }""");
        await LoadScriptAsync(server, "echo", "return message.json;");
        await LoadScriptAsync(server, "write", "db.exec('CREATE TABLE t (v)'); return 'written';");
        await ParkSubscriberAsync(server);

        using RawConnection flooder = await ConnectAsync(server.Port, "alice-flood");
        (int accepted, byte refusal) = await FloodAsync(flooder);
        Assert.Equal(0x97, refusal);
        Assert.InRange(accepted, 200, 1000); // ~40 MiB went in before the reserve: it was the disk that stopped it
        Assert.True(await server.WaitForOutputAsync("Disk reserve reached"), server.Output);

        // Another account: a grant request gets its normal answer, a run request runs, a database write
        // fails with a clear error.
        using (OutputCollector grants = await SubscribeAsync(server, "bob", "/bob/grant_result"))
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, [.. Login("bob"), "-q", "1", "-t", "/bob/grant_sub_topic", "-m", """{"name":"x","accountId":"alice"}"""])).ExitCode);
            Assert.True(await grants.WaitForLineAsync(l => l.Contains("\"ok\":true", StringComparison.Ordinal), Timeout), string.Join('\n', grants.Lines) + server.Output);
        }
        using (OutputCollector runs = await SubscribeAsync(server, "bob", "/bob/run/+/+"))
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, [.. Login("bob"), "-q", "1", "-t", "/bob/run/echo", "-m", """{"x":1}"""])).ExitCode);
            Assert.True(await runs.WaitForLineAsync(l => l == """/bob/run/echo/result {"x":1}""", Timeout), string.Join('\n', runs.Lines) + server.Output);
            Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, [.. Login("bob"), "-q", "1", "-t", "/bob/run/write", "-m", "{}"])).ExitCode);
            Assert.True(await runs.WaitForLineAsync(l => l.StartsWith("/bob/run/write/error ", StringComparison.Ordinal), Timeout), string.Join('\n', runs.Lines));
            Assert.Contains("disk reserve reached", runs.Lines.First(l => l.StartsWith("/bob/run/write/error ", StringComparison.Ordinal)), StringComparison.Ordinal);
        }

        // The subscriber drains the flooder's queue; its space is reused, so the flooder may publish again.
        ProcessRun drain = await MosquittoClients.RunOnceAsync(server.Port,
            [.. Login("alice"), "-c", "-i", "alice-sub", "-q", "1", "-t", "/alice/q/#", "-F", "%t", "-C", accepted.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(drain.ExitCode == 0, drain.StandardError);
        Assert.Equal(accepted, drain.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(await PublishUntilAcceptedAsync(flooder, firstId: 60_000), server.Output);
        Assert.True(await server.WaitForOutputAsync("Disk reserve left"), server.Output);

        Assert.True(new DriveInfo(_mount).AvailableFreeSpace > 0);
        Assert.False(server.Output.Contains("SQLITE_FULL", StringComparison.Ordinal), server.Output);
        Assert.DoesNotContain("could not commit", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_reserve_a_really_full_disk_fails_commits_and_they_succeed_again_once_space_returns()
    {
        IotpeServer server = await StartAsync("""{ "storage": { "diskReserveBytes": 0 }, "broker": { "maxQueuedBytesPerAccount": 1073741824 } }""");
        await ParkSubscriberAsync(server);
        string filler = Path.Combine(_mount, "filler");
        await File.WriteAllBytesAsync(filler, new byte[16 * 1024 * 1024]);

        using RawConnection flooder = await ConnectAsync(server.Port, "alice-flood");
        (_, byte refusal) = await FloodAsync(flooder);
        Assert.Equal(0x80, refusal); // the commit failed: the disk is full
        Assert.True(await server.WaitForOutputAsync("SQLITE_FULL"), server.Output);

        File.Delete(filler);
        Assert.True(await PublishUntilAcceptedAsync(flooder, firstId: 60_000), server.Output);
        using OutputCollector grants = await SubscribeAsync(server, "bob", "/bob/grant_result");
        Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, [.. Login("bob"), "-q", "1", "-t", "/bob/grant_sub_topic", "-m", """{"name":"x","accountId":"alice"}"""])).ExitCode);
        Assert.True(await grants.WaitForLineAsync(l => l.Contains("\"ok\":true", StringComparison.Ordinal), Timeout), string.Join('\n', grants.Lines) + server.Output);
    }

    [Fact]
    public async Task A_negative_reserve_stops_the_start_with_a_message_naming_the_key()
    {
        string config = Path.Combine(_outside, "negative.json");
        await File.WriteAllTextAsync(config, """{ "storage": { "diskReserveBytes": -1 } }""");
        ProcessRun run = await ProcessRun.RunAsync(IotpeBinary.Path, ["run", "--config", config, "--data", Path.Combine(_outside, "data")], TimeSpan.FromSeconds(20));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("storage.diskReserveBytes must be at least 0", run.StandardError, StringComparison.Ordinal);
    }

    private async Task<IotpeServer> StartAsync(string configuration)
    {
        string config = Path.Combine(_outside, "iotpe.json");
        await File.WriteAllTextAsync(config, configuration);
        _server = await IotpeServer.StartAsync(["--config", config], dataFolder: _mount, allowAnonymous: false);
        await _server.AddAccountAsync("alice", Password);
        await _server.AddAccountAsync("bob", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
        return _server;
    }

    private static string[] Login(string account) => ["-u", account, "-P", Password];

    private static Task<OutputCollector> SubscribeAsync(IotpeServer server, string account, string filter) =>
        MosquittoClients.StartSubscriberAsync(server.Port, [.. Login(account), "-t", filter, "-v", "-q", "1"]);

    private async Task LoadScriptAsync(IotpeServer server, string name, string text)
    {
        string file = Path.Combine(_outside, name + ".js");
        await File.WriteAllTextAsync(file, text);
        ProcessRun load = await server.CommandAsync(["script", "load", "bob", name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
    }

    // alice's persistent session, subscribed to /alice/q/# at QoS 1 and offline, so messages queue on disk.
    private static async Task ParkSubscriberAsync(IotpeServer server)
    {
        ProcessRun park = await MosquittoClients.RunOnceAsync(server.Port, [.. Login("alice"), "-c", "-i", "alice-sub", "-q", "1", "-t", "/alice/q/#", "-E"]);
        Assert.True(park.ExitCode == 0, park.StandardError);
    }

    /// <summary>QoS 1 publishes of 64 KiB, 16 at a time, until one is refused; returns how many were accepted and the refusal.</summary>
    private static async Task<(int Accepted, byte Refusal)> FloodAsync(RawConnection flooder)
    {
        byte[] payload = new byte[PayloadBytes];
        int accepted = 0;
        ushort id = 0;
        while (accepted < 2000)
        {
            for (int i = 0; i < 16; i++)
            {
                await flooder.SendAsync(RawMqtt.Publish($"/alice/q/{++id}", id, payload, version: 5));
            }
            byte refusal = 0;
            for (int i = 0; i < 16; i++)
            {
                byte reason = await ReadPubAckAsync(flooder);
                if (reason == 0)
                {
                    accepted++;
                }
                else if (refusal == 0)
                {
                    refusal = reason;
                }
            }
            if (refusal != 0)
            {
                return (accepted, refusal);
            }
        }
        return (accepted, 0);
    }

    // Right after space returns, the first publish may still meet the previous reading of the free
    // space (it is read at most every 250 ms); the flooder is refused, as told, and sends again.
    private static async Task<bool> PublishUntilAcceptedAsync(RawConnection flooder, ushort firstId)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        for (ushort id = firstId; DateTime.UtcNow < deadline; id++)
        {
            await flooder.SendAsync(RawMqtt.Publish("/alice/q/again", id, "again", version: 5));
            if (await ReadPubAckAsync(flooder) == 0)
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    private static async Task<RawConnection> ConnectAsync(int port, string clientId)
    {
        RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, version: 5, cleanStart: true, "alice", Password));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Timeout);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connack[1]);
        return connection;
    }

    private static async Task<byte> ReadPubAckAsync(RawConnection connection)
    {
        (byte type, byte[] body) = await connection.ReadPacketAsync(Timeout);
        Assert.Equal(0x40, type);
        return body.Length > 2 ? body[2] : (byte)0;
    }

}
