using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>A MariaDB server with iotpe's service user, shared by the central engine's tests.</summary>
public sealed class CentralDatabaseFixture : IAsyncLifetime
{
    public MariaDbServer Server { get; private set; } = null!;

    public string Service => Server.ConnectionString("iotpe", "service-secret", "iotpe");

    public async Task InitializeAsync()
    {
        Server = await MariaDbServer.StartAsync();
        // The service user's privileges, as README.md ("Central engine on MySQL/MariaDB") gives them.
        await Server.ExecuteAsRootAsync("""
            CREATE USER 'iotpe'@'%' IDENTIFIED BY 'service-secret';
            CREATE USER 'iotpe'@'localhost' IDENTIFIED BY 'service-secret';
            GRANT ALL PRIVILEGES ON *.* TO 'iotpe'@'%', 'iotpe'@'localhost' WITH GRANT OPTION;
            """);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Issue 19, the central engine: <c>iotpe run --mysql</c> with accounts that are MariaDB users, made by
/// <c>iotpe account add --mysql</c> or by an administrator; scripts loaded with the account's own
/// credentials and run over MQTT; a script's SQL confined by the server to its account's database.
/// </summary>
public sealed class CentralEngineTests(CentralDatabaseFixture database) : IClassFixture<CentralDatabaseFixture>, IAsyncLifetime
{
    private IotpeServer _iotpe = null!;

    public async Task InitializeAsync()
    {
        _iotpe = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
    }

    public async Task DisposeAsync() => await _iotpe.DisposeAsync();

    private Task<ProcessRun> IotpeAsync(string[] arguments, string? input = null) => _iotpe.CommandAsync(arguments, input);

    private async Task AddAsync(string account, string password)
    {
        ProcessRun add = await IotpeAsync(["account", "add", account, "--password-stdin", "--mysql", database.Service], password + "\n");
        Assert.True(add.ExitCode == 0, add.StandardError);
    }

    private async Task<string> RunScriptAsync(string account, string password, string name, string script)
    {
        string file = Path.Combine(_iotpe.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        // The seed's ./load_script.sh user password name file: only the account's own credentials.
        ProcessRun load = await IotpeAsync(["script", "load", account, name, file, "--mysql", database.Server.ConnectionString(account, password)]);
        Assert.True(load.ExitCode == 0, load.StandardError);
        string[] login = ["-u", account, "-P", password];
        using OutputCollector outcome = await MosquittoClients.StartSubscriberAsync(_iotpe.Port, [.. login, "-t", $"/{account}/run/{name}/+", "-v", "-q", "1"]);
        ProcessRun pub = await MosquittoClients.PublishAsync(_iotpe.Port, [.. login, "-q", "1", "-t", $"/{account}/run/{name}", "-m", "{}"]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.True(await outcome.WaitForLineAsync(l => l.StartsWith('/'), TimeSpan.FromSeconds(15)), outcome.Error + _iotpe.Output);
        return outcome.Lines.First(l => l.StartsWith('/'));
    }

    [Fact]
    public async Task Accounts_are_database_users_and_log_in_with_their_database_password()
    {
        await AddAsync("alice", "alice-secret");
        Assert.Contains("'alice'@'localhost'", await database.Server.ExecuteAsRootAsync("SELECT CONCAT('''', User, '''@''', Host, '''') FROM mysql.user WHERE User = 'alice'"));
        ProcessRun right = await MosquittoClients.PublishAsync(_iotpe.Port, "-u", "alice", "-P", "alice-secret", "-q", "1", "-t", "/alice/hello", "-m", "hi");
        Assert.True(right.ExitCode == 0, right.StandardError + _iotpe.Output);
        ProcessRun wrong = await MosquittoClients.PublishAsync(_iotpe.Port, "-u", "alice", "-P", "guess", "-q", "1", "-t", "/alice/hello", "-m", "hi");
        Assert.NotEqual(0, wrong.ExitCode);

        // An account made the traditional way logs in without a restart.
        await database.Server.ExecuteAsRootAsync("""
            CREATE USER 'trad'@'%' IDENTIFIED BY 'trad-secret'; CREATE USER 'trad'@'localhost' IDENTIFIED BY 'trad-secret';
            CREATE DATABASE trad; GRANT ALL ON trad.* TO 'trad'@'%', 'trad'@'localhost';
            """);
        ProcessRun trad = await MosquittoClients.PublishAsync(_iotpe.Port, "-u", "trad", "-P", "trad-secret", "-q", "1", "-t", "/trad/hello", "-m", "hi");
        Assert.True(trad.ExitCode == 0, trad.StandardError + _iotpe.Output);

        ProcessRun list = await IotpeAsync(["account", "list", "--mysql", database.Service]);
        Assert.Contains("alice\t", list.StandardOutput);
        Assert.Contains("trad\t", list.StandardOutput);

        int reloads = _iotpe.CountOutput("Accounts reloaded");
        ProcessRun remove = await IotpeAsync(["account", "remove", "alice", "--mysql", database.Service]);
        Assert.True(remove.ExitCode == 0, remove.StandardError);
        // The running engine notices within its poll (a second), as on the edge; until then a login it verified before is remembered.
        Assert.True(await _iotpe.WaitForOutputAsync("Accounts reloaded", reloads + 1, TimeSpan.FromSeconds(10)), _iotpe.Output);
        Assert.Equal("", (await database.Server.ExecuteAsRootAsync("SELECT User FROM mysql.user WHERE User = 'alice'")).Trim());
        ProcessRun gone = await MosquittoClients.PublishAsync(_iotpe.Port, "-u", "alice", "-P", "alice-secret", "-q", "1", "-t", "/alice/hello", "-m", "hi");
        Assert.NotEqual(0, gone.ExitCode);
    }

    [Fact]
    public async Task A_script_loaded_with_the_accounts_own_credentials_runs_over_mqtt_and_the_server_confines_its_sql()
    {
        await AddAsync("sa", "sa-secret");
        await AddAsync("sb", "sb-secret");
        await database.Server.ExecuteAsRootAsync("CREATE TABLE sb.secrets(v TEXT); INSERT INTO sb.secrets VALUES ('b-only');");

        string own = await RunScriptAsync("sa", "sa-secret", "calc", """
            db.exec("CREATE TABLE IF NOT EXISTS t(v INT)");
            db.exec("INSERT INTO t VALUES (?)", [41]);
            return db.query("SELECT v + 1 AS answer FROM t")[0].answer;
            """);
        Assert.Contains("42", own);

        ProcessRun list = await IotpeAsync(["script", "list", "sa", "--mysql", database.Server.ConnectionString("sa", "sa-secret")]);
        Assert.True(list.ExitCode == 0, list.StandardError);
        Assert.Contains("calc\tversion 1", list.StandardOutput);
        // Another account's credentials do not reach sa's scripts.
        ProcessRun foreign = await IotpeAsync(["script", "show", "sa", "calc", "--mysql", database.Server.ConnectionString("sb", "sb-secret")]);
        Assert.NotEqual(0, foreign.ExitCode);

        foreach ((string name, string sql) in ((string, string)[])[("steal", "SELECT * FROM sb.secrets"), ("newdb", "CREATE DATABASE x"), ("grant", "GRANT SELECT ON sb.* TO 'sa'@'%'")])
        {
            string outcome = await RunScriptAsync("sa", "sa-secret", name, $"return db.query(\"{sql}\");");
            Assert.Contains("denied", outcome, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("b-only", outcome);
        }
    }
}
