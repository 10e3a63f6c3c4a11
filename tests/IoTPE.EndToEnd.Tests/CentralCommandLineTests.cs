using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// What a central's operator does besides <c>iotpe run --mysql</c>: changes an account's password with
/// <c>iotpe account passwd --mysql</c> (the database user's password, so the running engine and the
/// account's own database logins follow), and names the server in the config file's <c>mysql</c>
/// section instead of on the command line.
/// </summary>
public sealed class CentralCommandLineTests(CentralDatabaseFixture database) : IClassFixture<CentralDatabaseFixture>
{
    private static Task<ProcessRun> PublishAsync(IotpeServer iotpe, string account, string password) =>
        MosquittoClients.PublishAsync(iotpe.Port, "-u", account, "-P", password, "-q", "1", "-t", $"/{account}/hello", "-m", "hi");

    [Fact]
    public async Task Account_passwd_changes_the_database_users_password_for_mqtt_and_for_the_accounts_own_logins()
    {
        await using IotpeServer iotpe = await IotpeServer.StartAsync(["--mysql", database.Service], allowAnonymous: false);
        ProcessRun add = await iotpe.CommandAsync(["account", "add", "pat", "--password-stdin", "--mysql", database.Service], "old-secret\n");
        Assert.True(add.ExitCode == 0, add.StandardError);
        ProcessRun before = await PublishAsync(iotpe, "pat", "old-secret");
        Assert.True(before.ExitCode == 0, before.StandardError + iotpe.Output);

        int reloads = iotpe.CountOutput("Accounts reloaded");
        ProcessRun passwd = await iotpe.CommandAsync(["account", "passwd", "pat", "--password-stdin", "--mysql", database.Service], "new-secret\n");
        Assert.True(passwd.ExitCode == 0, passwd.StandardError);
        // The running engine notices the user's new authentication string at its next poll; until
        // then a password it verified before is remembered, as on the edge.
        Assert.True(await iotpe.WaitForOutputAsync("Accounts reloaded", reloads + 1, TimeSpan.FromSeconds(10)), iotpe.Output);

        ProcessRun old = await PublishAsync(iotpe, "pat", "old-secret");
        Assert.NotEqual(0, old.ExitCode);
        Assert.True(await iotpe.WaitForOutputAsync("BadUserNameOrPassword - wrong password for account 'pat'"), iotpe.Output);
        ProcessRun renewed = await PublishAsync(iotpe, "pat", "new-secret");
        Assert.True(renewed.ExitCode == 0, renewed.StandardError + iotpe.Output);

        // The seed's list_script.sh with the account's credentials: only the new password opens the server.
        ProcessRun listOld = await iotpe.CommandAsync(["script", "list", "pat", "--mysql", database.Server.ConnectionString("pat", "old-secret")]);
        Assert.NotEqual(0, listOld.ExitCode);
        ProcessRun listNew = await iotpe.CommandAsync(["script", "list", "pat", "--mysql", database.Server.ConnectionString("pat", "new-secret")]);
        Assert.True(listNew.ExitCode == 0, listNew.StandardError);

        ProcessRun nobody = await iotpe.CommandAsync(["account", "passwd", "nobody", "--password-stdin", "--mysql", database.Service], "x-secret\n");
        Assert.NotEqual(0, nobody.ExitCode);
        Assert.Equal("", (await database.Server.ExecuteAsRootAsync("SELECT User FROM mysql.user WHERE User = 'nobody'")).Trim());
    }

    [Fact]
    public async Task The_config_files_mysql_section_selects_the_central_stores_like_the_option()
    {
        using var folder = new TempFolder();
        string config = Path.Combine(folder.Path, "central.json");
        await File.WriteAllTextAsync(config, new JsonObject { ["mysql"] = new JsonObject { ["connectionString"] = database.Service } }.ToJsonString());
        await using IotpeServer iotpe = await IotpeServer.StartAsync(["--config", config], allowAnonymous: false);

        // An administrator's database user is an account of this engine: its stores are the server's.
        await database.Server.ExecuteAsRootAsync("""
            CREATE USER 'cfg'@'%' IDENTIFIED BY 'cfg-secret'; CREATE USER 'cfg'@'localhost' IDENTIFIED BY 'cfg-secret';
            CREATE DATABASE cfg; GRANT ALL ON cfg.* TO 'cfg'@'%', 'cfg'@'localhost';
            """);
        ProcessRun login = await PublishAsync(iotpe, "cfg", "cfg-secret");
        Assert.True(login.ExitCode == 0, login.StandardError + iotpe.Output);
        Assert.NotEqual(0, (await PublishAsync(iotpe, "cfg", "guess")).ExitCode);
        Assert.False(File.Exists(Path.Combine(iotpe.DataFolder, "engine.db")), "the engine's stores went to the data folder, not to the server");

        // The section is what iotpe connects to: a server that is not there stops the start, named.
        string unreachable = Path.Combine(folder.Path, "unreachable.json");
        string nowhere = database.Service.Replace($"Port={database.Server.Port}", "Port=1", StringComparison.Ordinal);
        await File.WriteAllTextAsync(unreachable, new JsonObject { ["mysql"] = new JsonObject { ["connectionString"] = nowhere } }.ToJsonString());
        ProcessRun refused = await ProcessRun.RunAsync(IotpeExecutable.Native.FileName,
            [.. IotpeExecutable.Native.PrefixArguments, "run", "--data", Path.Combine(folder.Path, "data"), "--listen", "127.0.0.1:0", "--config", unreachable],
            TimeSpan.FromSeconds(60));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("cannot use the MySQL/MariaDB server", refused.StandardError, StringComparison.Ordinal);
    }
}
