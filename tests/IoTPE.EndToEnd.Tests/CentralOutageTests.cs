using System.Text;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 19, item 5, the engine's side: the central's database server stopped and started again
/// under a running <c>iotpe run --mysql</c>. New logins are refused with Server unavailable (0x88;
/// 3.1.1: return code 3), never "wrong password"; the outage is logged once each way, not once per
/// login or poll; a script's <c>db.query</c> fails with the server's error on the run's error topic;
/// and logins and runs work again by themselves once the server is back.
/// </summary>
public sealed class CentralOutageTests(CentralDatabaseFixture database) : IClassFixture<CentralDatabaseFixture>, IAsyncLifetime
{
    private const string Unreachable = "the MySQL/MariaDB server is unreachable";
    private const string ReachableAgain = "the MySQL/MariaDB server is reachable again";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private IotpeServer _iotpe = null!;

    public async Task InitializeAsync()
    {
        _iotpe = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
    }

    public async Task DisposeAsync()
    {
        await _iotpe.DisposeAsync();
        if (!database.Server.IsRunning)
        {
            await database.Server.RestartAsync(); // for the class's other tests, if a failure left it stopped
        }
    }

    private async Task AddAsync(string account, string password)
    {
        ProcessRun add = await _iotpe.CommandAsync(["account", "add", account, "--password-stdin", "--mysql", database.Service], password + "\n");
        Assert.True(add.ExitCode == 0, add.StandardError);
    }

    /// <summary>CONNECT with a raw client; returns the CONNACK's return code (3.1.1) or reason code (5.0).</summary>
    private async Task<byte> ConnectAsync(string user, string password, int version)
    {
        using RawConnection raw = await RawConnection.OpenAsync(_iotpe.Port);
        await raw.SendAsync(RawMqtt.Connect("outage-" + Guid.NewGuid().ToString("N")[..8], version, cleanStart: true, user, password));
        (byte type, byte[] body) = await raw.ReadPacketAsync(Generous);
        Assert.Equal(0x20, type);
        return body[1];
    }

    private Task<ProcessRun> RunAsync(string account, string password, string script, int qos = 1) =>
        MosquittoClients.PublishAsync(_iotpe.Port, "-u", account, "-P", password, "-q", qos.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", $"/{account}/run/{script}", "-m", "{}");

    [Fact]
    public async Task A_stopped_database_server_refuses_new_logins_as_unavailable_fails_db_calls_clearly_and_both_come_back_by_themselves()
    {
        await AddAsync("ada", "ada-secret");
        await AddAsync("bea", "bea-secret");
        string file = Path.Combine(_iotpe.DataFolder, "probe.js");
        await File.WriteAllTextAsync(file, "return { one: db.query('SELECT 1 AS one')[0].one };");
        ProcessRun load = await _iotpe.CommandAsync(["script", "load", "ada", "probe", file, "--mysql", database.Server.ConnectionString("ada", "ada-secret")]);
        Assert.True(load.ExitCode == 0, load.StandardError);

        // ada's subscriber is connected before the outage and stays connected through it.
        using OutputCollector outcomes = await MosquittoClients.StartSubscriberAsync(_iotpe.Port, ["-u", "ada", "-P", "ada-secret", "-t", "/ada/run/probe/+", "-v", "-q", "1"]);
        ProcessRun before = await RunAsync("ada", "ada-secret", "probe");
        Assert.True(before.ExitCode == 0, before.StandardError + _iotpe.Output);
        Assert.True(await outcomes.WaitForLineAsync(l => l == """/ada/run/probe/result {"one":1}""", Generous), string.Join('\n', outcomes.Lines) + _iotpe.Output);
        Assert.Equal(0, _iotpe.CountOutput(Unreachable));

        await database.Server.StopAsync();

        // bea never logged in, so nothing vouches for her password but the server: come back later.
        Assert.Equal(3, await ConnectAsync("bea", "bea-secret", version: 4));
        Assert.Equal(0x88, await ConnectAsync("bea", "bea-secret", version: 5));
        Assert.Equal(0x88, await ConnectAsync("bea", "not-her-password", version: 5)); // not "wrong password" either: nothing was checked
        // A name the engine does not know may be a user the administrator made on the server meanwhile.
        Assert.Equal(0x88, await ConnectAsync("cleo", "cleo-secret", version: 5));
        Assert.True(await _iotpe.WaitForOutputAsync(Unreachable, 1, Generous), _iotpe.Output);

        // ada's password was verified before the outage: her client still gets in, and her run's
        // db.query fails with the server's error on the error topic. The request goes at QoS 0: on
        // a central whose broker state is on the same server, a QoS 1 request would be refused
        // until it is back (that is the broker store's outage, tested with the store).
        ProcessRun during = await RunAsync("ada", "ada-secret", "probe", qos: 0);
        Assert.True(during.ExitCode == 0, during.StandardError + _iotpe.Output);
        Assert.True(await outcomes.WaitForLineAsync(l => l.StartsWith("/ada/run/probe/error ", StringComparison.Ordinal), Generous), string.Join('\n', outcomes.Lines) + _iotpe.Output);
        string error = outcomes.Lines.First(l => l.StartsWith("/ada/run/probe/error ", StringComparison.Ordinal));
        Assert.Contains("SQL error: the database server is unreachable", error, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"Threw\"", error, StringComparison.Ordinal);

        // More refused logins and seconds of polling: still the one line.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(0x88, await ConnectAsync("bea", "bea-secret", version: 5));
        }
        Assert.Equal(1, _iotpe.CountOutput(Unreachable));
        Assert.Equal(0, _iotpe.CountOutput(ReachableAgain));

        await database.Server.RestartAsync();

        // Nobody restarts iotpe: bea's login succeeds once the engine's pool finds the server again.
        Assert.True(await _iotpe.WaitForOutputAsync(ReachableAgain, 1, Generous), _iotpe.Output);
        Assert.Equal(0, await ConnectAsync("bea", "bea-secret", version: 5));
        Assert.Equal(0x86, await ConnectAsync("ada", "not-her-password", version: 5));
        Assert.Equal(0x86, await ConnectAsync("cleo", "cleo-secret", version: 5));
        // Where the broker's own state is on the same server, its store reconnects on its own
        // schedule and refuses QoS 1 until then: the request is sent again until it is acknowledged.
        ProcessRun after = await RunAsync("ada", "ada-secret", "probe");
        for (DateTime deadline = DateTime.UtcNow + Generous; after.ExitCode != 0 && DateTime.UtcNow < deadline;)
        {
            after = await RunAsync("ada", "ada-secret", "probe");
        }
        Assert.True(after.ExitCode == 0, after.StandardError + _iotpe.Output);
        Assert.True(await outcomes.WaitUntilAsync(() => outcomes.Lines.Count(l => l == """/ada/run/probe/result {"one":1}""") >= 2, Generous),
            string.Join('\n', outcomes.Lines) + _iotpe.Output);
        Assert.Equal(1, _iotpe.CountOutput(Unreachable));
        Assert.Equal(1, _iotpe.CountOutput(ReachableAgain));
        Assert.Single(outcomes.Lines, l => l.StartsWith("/ada/run/probe/error ", StringComparison.Ordinal));
    }
}
