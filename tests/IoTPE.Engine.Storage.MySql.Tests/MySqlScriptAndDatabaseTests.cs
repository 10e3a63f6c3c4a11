using System.Text;
using System.Text.Json;
using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql.Tests;

/// <summary>Scripts in the service database (also through the accounts' own procedures), kv, and the accounts' databases with server-enforced isolation.</summary>
public sealed class MySqlScriptAndDatabaseTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    private static string Run(Action<Utf8JsonWriter> call)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            call(writer);
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static JsonElement Parameters(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Scripts_keep_their_versions_and_quota_and_schedules()
    {
        var service = fixture.OpenService();
        new MySqlAccountStore(service).CreateAccount("s1", "s1-secret");
        var store = new MySqlScriptStore(service);
        long before = store.ChangeVersion;
        var quota = new ScriptQuota(2, 100);
        Assert.Equal(1, store.Save("s1", "calc", "v1", quota, out _)!.Version);
        Assert.Equal(2, store.Save("s1", "calc", "v2", quota, out _)!.Version);
        Assert.Equal(3, store.Save("s1", "calc", "v3", quota, out long bytes)!.Version);
        Assert.Equal(4, bytes); // two versions kept
        Assert.Null(store.Get("s1", "calc", 1));
        Assert.Equal("v3", store.GetLatest("s1", "calc")!.Text);
        Assert.Null(store.Save("s1", "big", new string('x', 200), quota, out long needed));
        Assert.Equal(204, needed);
        Assert.Null(store.GetLatest("s1", "big"));
        store.SetSchedule("s1", "calc", 5);
        Assert.Contains(store.Schedules(), s => s is { Account: "s1", Name: "calc", EverySeconds: 5 });
        Assert.NotEqual(before, store.ChangeVersion);
        Assert.True(store.Remove("s1", "calc"));
        Assert.Empty(store.List("s1"));
        Assert.DoesNotContain(store.Schedules(), s => s.Account == "s1");
    }

    /// <summary>Loads of one new script at the same time each get their own version (none fails on a lock).</summary>
    [Fact]
    public void Concurrent_first_loads_of_a_script_each_get_a_version()
    {
        var service = fixture.OpenService();
        new MySqlAccountStore(service).CreateAccount("s3", "s3-secret");
        var store = new MySqlScriptStore(service);
        var quota = new ScriptQuota(10, 1_000_000);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 8 };
        // A locking read of versions that do not exist yet takes gap locks only; without the saves
        // taking turns, concurrent first saves deadlocked (CI, 1 run of about 10).
        for (int round = 0; round < 4; round++)
        {
            int[] versions = new int[8];
            Parallel.For(0, versions.Length, parallel, i => versions[i] = store.Save("s3", "fresh" + round, "v" + i, quota, out _)!.Version);
            Assert.Equal(Enumerable.Range(1, versions.Length), versions.Order());
            Assert.Equal(versions.Length, store.GetLatest("s3", "fresh" + round)!.Version);
        }
        // New names next to each other share a gap of the index too.
        int[] firsts = new int[8];
        Parallel.For(0, firsts.Length, parallel, i => firsts[i] = store.Save("s3", "new-" + i, "v", quota, out _)!.Version);
        Assert.All(firsts, version => Assert.Equal(1, version));
    }

    [Fact]
    public void An_account_loads_and_lists_its_own_scripts_with_its_own_credentials_only()
    {
        var service = fixture.OpenService();
        var accounts = new MySqlAccountStore(service);
        accounts.CreateAccount("s2", "s2-secret");
        accounts.CreateAccount("s3", "s3-secret");
        using (var own = new MySqlConnection(fixture.Server.ConnectionString("s2", "s2-secret")))
        {
            own.Open();
            using var load = new MySqlCommand("CALL iotpe.script_load('calc', 'publish(\"x\")')", own);
            using (MySqlDataReader reader = load.ExecuteReader())
            {
                Assert.True(reader.Read());
                Assert.Equal(1, Convert.ToInt32(reader.GetValue(0)));
            }
            // The tables themselves are nobody's but the service user's.
            var denied = Assert.Throws<MySqlException>(() => new MySqlCommand("SELECT * FROM iotpe.scripts", own).ExecuteScalar());
            Assert.Equal(MySqlErrorCode.TableAccessDenied, denied.ErrorCode);
        }
        Assert.Equal("publish(\"x\")", new MySqlScriptStore(service).GetLatest("s2", "calc")!.Text);
        using (var other = new MySqlConnection(fixture.Server.ConnectionString("s3", "s3-secret")))
        {
            other.Open();
            using var list = new MySqlCommand("CALL iotpe.script_list()", other);
            using MySqlDataReader reader = list.ExecuteReader();
            Assert.False(reader.Read()); // s2's script is not s3's
        }
    }

    [Fact]
    public void A_script_reaches_its_own_database_and_the_server_refuses_everything_else()
    {
        var service = fixture.OpenService();
        var accounts = new MySqlAccountStore(service);
        accounts.CreateAccount("a1", "a1-secret");
        accounts.CreateAccount("b1", "b1-secret");
        var databases = new MySqlAccountDatabases(service);
        TimeSpan second = TimeSpan.FromSeconds(5);
        Run(w => databases.Execute("b1", "CREATE TABLE t(id INT PRIMARY KEY, v TEXT)", default, w, second));
        Run(w => databases.Execute("a1", "CREATE TABLE t(id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)", default, w, second));
        string inserted = Run(w => databases.Execute("a1", "INSERT INTO t(v) VALUES (?), (?)", Parameters("""["x", "y"]"""), w, second));
        Assert.Equal("""{"changes":2,"lastInsertRowid":1}""", inserted);
        Assert.Equal("""[{"id":2,"v":"y"}]""", Run(w => databases.Query("a1", "SELECT id, v FROM t WHERE v = @v", Parameters("""{"v":"y"}"""), w, second)));

        foreach (string attack in (string[])["SELECT * FROM b1.t", "CREATE DATABASE x", "GRANT SELECT ON b1.* TO 'a1$run'@'%'", "SELECT * FROM mysql.user",
                     "SELECT * FROM iotpe.script_users", "DROP DATABASE b1"])
        {
            var refused = Assert.Throws<AccountDatabaseException>(() => Run(w => databases.Execute("a1", attack, default, w, second)));
            Assert.StartsWith("SQL error: ", refused.Message);
            Assert.Contains("denied", refused.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Statement_time_result_size_and_storage_quota_are_limited()
    {
        var service = fixture.OpenService();
        new MySqlAccountStore(service).CreateAccount("q1", "q1-secret");
        var databases = new MySqlAccountDatabases(service, new MySqlAccountDatabaseLimits { MaxResultBytes = 1000, MaxDatabaseBytes = 256 * 1024 });
        var slow = Assert.Throws<AccountDatabaseException>(() => Run(w => databases.Query("q1", "SELECT SLEEP(5)", default, w, TimeSpan.FromMilliseconds(300))));
        Assert.Contains("time limit", slow.Message);

        Run(w => databases.Execute("q1", "CREATE TABLE t(id INT AUTO_INCREMENT PRIMARY KEY, v LONGTEXT)", default, w, TimeSpan.FromSeconds(5)));
        Run(w => databases.Execute("q1", "INSERT INTO t(v) VALUES (REPEAT('x', 600)), (REPEAT('y', 600))", default, w, TimeSpan.FromSeconds(5)));
        var big = Assert.Throws<AccountDatabaseException>(() => Run(w => databases.Query("q1", "SELECT v FROM t", default, w, TimeSpan.FromSeconds(5))));
        Assert.Contains("exceeds", big.Message);

        // Writes go on until the server's statistics show the quota exceeded; then they are refused, reads go on.
        AccountDatabaseException? full = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (full is null && DateTime.UtcNow < deadline)
        {
            try
            {
                Run(w => databases.Execute("q1", "INSERT INTO t(v) SELECT REPEAT('z', 60000) FROM seq_1_to_10", default, w, TimeSpan.FromSeconds(5)));
                Run(w => databases.Execute("q1", "ANALYZE TABLE t", default, w, TimeSpan.FromSeconds(5)));
            }
            catch (AccountDatabaseException e)
            {
                full = e;
            }
        }
        Assert.NotNull(full);
        Assert.Contains("quota", full.Message);
        Assert.StartsWith("[", Run(w => databases.Query("q1", "SELECT COUNT(*) AS n FROM t", default, w, TimeSpan.FromSeconds(5))));
    }
}
