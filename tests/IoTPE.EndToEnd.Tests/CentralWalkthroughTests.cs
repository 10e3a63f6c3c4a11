using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 19: the seed's whole README against a central engine (<c>iotpe run --mysql</c> on a real
/// MariaDB server), with MQTT.js's <c>mqtt</c> command as the seed uses it. One account is made by
/// <c>iotpe account add --mysql</c>, the other "the traditional way" by the administrator
/// (<c>CREATE USER</c> + <c>CREATE DATABASE</c>); each loads a script with its own database
/// credentials only (the seed's <c>load_script.sh</c>), lists it (<c>list_script.sh</c>) and runs it
/// over MQTT; then the grant/revoke sequence of <see cref="SeedWalkthrough"/>, the same steps the
/// edge passes in <see cref="AccountsAndGrantsTests"/>.
/// </summary>
public sealed class CentralWalkthroughTests(CentralDatabaseFixture database) : IClassFixture<CentralDatabaseFixture>, IAsyncLifetime
{
    private const string Owner = SeedWalkthrough.Owner;
    private const string Other = SeedWalkthrough.Other;
    private const string Password = SeedWalkthrough.Password;

    // The README's calc rule in MySQL's dialect: kv, the account's own database, a publish and a result.
    private const string Calc = """
        const { x, y } = message.json;
        const sum = x + y;
        const total = (kv.get('total') ?? 0) + sum;
        kv.set('total', total);
        db.exec('CREATE TABLE IF NOT EXISTS sums (id INT AUTO_INCREMENT PRIMARY KEY, x INT, y INT)');
        db.exec('INSERT INTO sums (x, y) VALUES (?, ?)', [x, y]);
        const rows = db.query('SELECT x + y AS s, DATABASE() AS db FROM sums ORDER BY id DESC LIMIT 3');
        publish('/' + message.account + '/dashboard/total', { total });
        return { sum, total, last: rows.map(r => r.s), db: rows[0].db };
        """;

    private IotpeServer _iotpe = null!;

    public async Task InitializeAsync()
    {
        _iotpe = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
    }

    public async Task DisposeAsync() => await _iotpe.DisposeAsync();

    private SeedWalkthrough Seed => new(_iotpe.Port);

    private string Own(string account) => database.Server.ConnectionString(account, Password);

    [Fact]
    public async Task The_seeds_whole_walkthrough_works_on_the_central()
    {
        // Accounts: one through iotpe, one as the seed's reader would make it, as the database's root.
        ProcessRun add = await _iotpe.CommandAsync(["account", "add", Owner, "--password-stdin", "--mysql", database.Service], Password + "\n");
        Assert.True(add.ExitCode == 0, add.StandardError);
        await database.Server.ExecuteAsRootAsync($"""
            CREATE USER '{Other}'@'%' IDENTIFIED BY '{Password}'; CREATE USER '{Other}'@'localhost' IDENTIFIED BY '{Password}';
            CREATE DATABASE `{Other}`; GRANT ALL ON `{Other}`.* TO '{Other}'@'%', '{Other}'@'localhost';
            """);

        // mqtt sub --username 'mysql_user' --password 'secret' -t '/mysql_user/calc' ...; mqtt pub ... -m 'Hello world'
        foreach (string account in (string[])[Owner, Other])
        {
            using OutputCollector sub = await MqttJs.StartSubscriberAsync(
                "--username", account, "--password", Password, "-t", $"/{account}/calc", "-h", "127.0.0.1", "-p", _iotpe.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-v");
            ProcessRun pub = await Seed.Pub(account, $"/{account}/calc", "Hello world");
            Assert.True(pub.ExitCode == 0, pub.StandardError + _iotpe.Output);
            Assert.True(await sub.WaitForLineAsync(l => l == $"/{account}/calc Hello world"), string.Join('\n', sub.Lines) + sub.Error);
        }

        // ./load_script.sh <mysql_username> <mysql_password> calc ./scripts/calc.js, then ./list_script.sh.
        string file = Path.Combine(_iotpe.DataFolder, "calc.js");
        await File.WriteAllTextAsync(file, Calc);
        foreach (string account in (string[])[Owner, Other])
        {
            ProcessRun load = await _iotpe.CommandAsync(["script", "load", account, "calc", file, "--mysql", Own(account)]);
            Assert.True(load.ExitCode == 0, load.StandardError);
            ProcessRun list = await _iotpe.CommandAsync(["script", "list", account, "--mysql", Own(account)]);
            Assert.True(list.ExitCode == 0, list.StandardError);
            Assert.Contains("calc\tversion 1", list.StandardOutput, StringComparison.Ordinal);
        }

        // /<account>/run/calc runs the stored script, on the account's own database, twice.
        foreach (string account in (string[])[Owner, Other])
        {
            using OutputCollector outcome = await Seed.SubscribedAsync(account, $"/{account}/run/calc/+");
            using OutputCollector dashboard = await Seed.SubscribedAsync(account, $"/{account}/dashboard/total");
            Assert.Equal(0, (await Seed.Pub(account, $"/{account}/run/calc", """{"x":1,"y":2}""")).ExitCode);
            Assert.True(await outcome.WaitForLineAsync(l => l.StartsWith('/'), TimeSpan.FromSeconds(15)), outcome.Error + _iotpe.Output);
            Assert.Equal(0, (await Seed.Pub(account, $"/{account}/run/calc", """{"x":3,"y":4}""")).ExitCode);
            Assert.True(await outcome.WaitForLineAsync(l => l.Contains("\"total\":10", StringComparison.Ordinal), TimeSpan.FromSeconds(15)),
                string.Join('\n', outcome.Lines) + _iotpe.Output);
            Assert.Equal($$"""/{{account}}/run/calc/result {"sum":3,"total":3,"last":[3],"db":"{{account}}"}""", outcome.Lines[0]);
            Assert.Equal($$"""/{{account}}/run/calc/result {"sum":7,"total":10,"last":[7,3],"db":"{{account}}"}""", outcome.Lines[1]);
            Assert.True(await dashboard.WaitForLineAsync(l => l == $$"""/{{account}}/dashboard/total {"total":10}"""), string.Join('\n', dashboard.Lines));
        }
        // What the script wrote is in the account's database, where its owner's own login sees it.
        Assert.Equal("2", (await database.Server.ExecuteAsRootAsync($"SELECT COUNT(*) FROM `{Other}`.sums")).Trim());

        // Granting and revoking privileges, verbatim.
        await Seed.RunGrantSequenceAsync(owner => _iotpe.CommandAsync(["grant", "list", owner, "--mysql", database.Service]));
    }
}
