using System.Diagnostics;
using IoTPE.Engine.Scripts;
using SQLitePCL;

namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>
/// Each statement of a script is bounded — a value's length, a query's result, the memory a statement
/// takes, its time, its text — and passing a bound is a clear error, not a process that grows or hangs.
/// In the timing-sensitive collection: the memory guard reads SQLite's process-wide counter, which
/// other tests of this assembly running at the same time would move.
/// </summary>
[Collection(nameof(TimingSensitiveCollection))]
public sealed class ScriptSqlLimitTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void A_huge_zeroblob_is_refused_before_SQLite_allocates_it()
    {
        using var db = new AccountDatabaseSession();
        raw.sqlite3_memory_highwater(1);
        long before = raw.sqlite3_memory_used();

        var error = Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT zeroblob(?) AS z", "[999999999]"));

        Assert.Contains("too big", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 1 MiB", error.Message, StringComparison.Ordinal);
        Assert.True(raw.sqlite3_memory_highwater(0) - before < 8 * MiB, $"SQLite's memory peaked {(raw.sqlite3_memory_highwater(0) - before) / MiB} MiB above its start");
        Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT randomblob(2000000) AS r"));
        // printf gives NULL past the limit rather than an error.
        Assert.Equal("""[{"n":null}]""", db.Query("SELECT length(printf('%.*c', 5000000, 'x')) AS n"));
        Assert.Equal("""[{"n":1048576}]""", db.Query("SELECT length(zeroblob(1048576)) AS n"));
    }

    [Fact]
    public void A_bound_value_longer_than_the_value_limit_is_refused()
    {
        using var db = new AccountDatabaseSession(AccountDatabaseLimits.Default with { MaxValueBytes = 1000 });
        db.Exec("CREATE TABLE t (v)");
        var error = Assert.Throws<AccountDatabaseException>(() => db.Exec("INSERT INTO t VALUES (?)", $"[\"{new string('x', 1001)}\"]"));
        Assert.Contains("too long", error.Message, StringComparison.Ordinal);
        db.Exec("INSERT INTO t VALUES (?)", $"[\"{new string('x', 900)}\"]");
    }

    [Fact]
    public void A_query_stops_reading_rows_once_its_result_passes_the_cap()
    {
        using var db = new AccountDatabaseSession(AccountDatabaseLimits.Default with { MaxResultBytes = 64 * 1024 });
        db.Exec("CREATE TABLE t (v TEXT); INSERT INTO t SELECT printf('%.1000c', 'x') FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000) SELECT i FROM c)");

        var error = Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT v FROM t"));
        Assert.Equal("SQL error: the query's result exceeds 65536 bytes; select fewer rows (LIMIT/OFFSET) or fewer columns", error.Message);

        Assert.Equal(50, db.Query("SELECT v FROM t LIMIT 50").Split("\"v\"").Length - 1);
        Assert.Equal("""[{"n":1000}]""", db.Query("SELECT count(*) AS n FROM t"));
    }

    [Fact]
    public void The_default_result_cap_is_4_MiB()
    {
        using var db = new AccountDatabaseSession();
        db.Exec("CREATE TABLE t (v BLOB); INSERT INTO t SELECT zeroblob(1000000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)");
        // Three blobs are 4 MB of base64: over 4 MiB (4,194,304 bytes); two are within.
        var error = Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT v FROM t LIMIT 4"));
        Assert.Contains("exceeds 4 MiB", error.Message, StringComparison.Ordinal);
        Assert.True(db.Query("SELECT v FROM t LIMIT 2").Length > 2_000_000);
    }

    [Fact]
    public void A_statement_that_needs_more_memory_than_its_limit_is_stopped()
    {
        using var db = new AccountDatabaseSession(AccountDatabaseLimits.Default with { MaxStatementMemoryBytes = 16 * MiB });
        raw.sqlite3_memory_highwater(1);
        long before = raw.sqlite3_memory_used();

        // 100 MB of values to sort: the sorter (in memory, temp_store=MEMORY) is stopped near 16 MiB.
        var error = Assert.Throws<AccountDatabaseException>(() => db.Exec(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000) SELECT randomblob(1000) AS b FROM c ORDER BY b"));

        Assert.Contains("needs more than 16 MiB of memory", error.Message, StringComparison.Ordinal);
        long peak = raw.sqlite3_memory_highwater(0) - before;
        Assert.True(peak < 40 * MiB, $"SQLite's memory peaked {peak / MiB} MiB above its start");
        Assert.True(raw.sqlite3_memory_used() - before < 8 * MiB, "the stopped statement's memory was not freed");
        // A sort within the limit works, on the same connection.
        Assert.Equal("""[{"n":1000}]""", db.Query(
            "SELECT count(*) AS n FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000) SELECT randomblob(1000) AS b FROM c ORDER BY b)"));
    }

    [Fact]
    public void A_statement_that_outlives_the_runs_time_budget_is_stopped()
    {
        using var db = new AccountDatabaseSession { Timeout = TimeSpan.FromMilliseconds(200) };
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<AccountDatabaseException>(() => db.Query(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) AS n FROM c"));
        Assert.Contains("time budget", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"stopped after {watch.Elapsed}");
        Assert.Equal("""[{"ok":1}]""", db.Query("SELECT 1 AS ok"));
    }

    [Fact]
    public void Oversized_or_overly_complex_SQL_is_refused()
    {
        using var db = new AccountDatabaseSession();
        var length = Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT '" + new string('x', 100_001) + "' AS s"));
        Assert.Contains("statement too long", length.Message, StringComparison.Ordinal);
        var depth = Assert.Throws<AccountDatabaseException>(() => db.Query("SELECT " + string.Join(" + ", Enumerable.Repeat("1", 200))));
        Assert.Contains("maximum depth 100", depth.Message, StringComparison.Ordinal);
        var columns = Assert.Throws<AccountDatabaseException>(() => db.Exec("CREATE TABLE wide (" + string.Join(", ", Enumerable.Range(0, 501).Select(i => "c" + i)) + ")"));
        Assert.Contains("too many columns", columns.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_database_file_stays_within_its_size_cap()
    {
        using var db = new AccountDatabaseSession(AccountDatabaseLimits.Default with { MaxDatabaseBytes = 1 * MiB });
        db.Exec("CREATE TABLE t (v BLOB)");
        var error = Assert.Throws<AccountDatabaseException>(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                db.Exec("INSERT INTO t VALUES (randomblob(100000))");
            }
        });
        Assert.Contains("database is full (limit 1 MiB)", error.Message, StringComparison.Ordinal);
    }
}
