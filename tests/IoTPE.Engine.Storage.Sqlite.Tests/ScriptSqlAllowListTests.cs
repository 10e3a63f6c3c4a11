using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>
/// A script's SQL is allow-listed: what business rules use works, and everything else — native
/// pointers, extensions, other files, TEMP objects, virtual tables, settings — is refused with an
/// error naming what was refused, on a connection that keeps working afterwards.
/// </summary>
public sealed class ScriptSqlAllowListTests : IDisposable
{
    private readonly AccountDatabaseSession _db = new();

    public ScriptSqlAllowListTests() => _db.Exec("CREATE TABLE x (a INTEGER PRIMARY KEY, b TEXT)");

    public void Dispose() => _db.Dispose();

    [Fact]
    public void The_SQL_of_business_rules_works()
    {
        _db.Exec("""
            PRAGMA foreign_keys = ON;
            PRAGMA user_version = 3;
            CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY AUTOINCREMENT, sensor TEXT NOT NULL, value REAL, at TEXT DEFAULT (datetime('now')));
            CREATE INDEX IF NOT EXISTS readings_sensor ON readings (sensor, at);
            CREATE TABLE totals (sensor TEXT PRIMARY KEY, n INTEGER, sum REAL);
            CREATE TRIGGER readings_total AFTER INSERT ON readings BEGIN
              INSERT INTO totals VALUES (new.sensor, 1, new.value)
              ON CONFLICT (sensor) DO UPDATE SET n = n + 1, sum = sum + excluded.sum;
            END;
            CREATE VIEW averages AS SELECT sensor, round(sum / n, 2) AS average FROM totals;
            """);
        _db.Exec("BEGIN; SAVEPOINT batch");
        _db.Exec("INSERT INTO readings (sensor, value) SELECT j.value ->> '$.s', j.value ->> '$.v' FROM json_each(?) AS j",
            """["[{\"s\":\"t1\",\"v\":20.5},{\"s\":\"t1\",\"v\":21.5},{\"s\":\"t2\",\"v\":3}]"]""");
        _db.Exec("RELEASE batch; COMMIT");
        _db.Exec("UPDATE readings SET value = abs(value) * 1 WHERE sensor = :s; DELETE FROM readings WHERE value < 0", """{"s":"t2"}""");
        _db.Exec("ALTER TABLE readings ADD COLUMN unit TEXT; ALTER TABLE readings RENAME COLUMN unit TO units; ALTER TABLE readings DROP COLUMN units");
        _db.Exec("ALTER TABLE x RENAME TO y; REINDEX readings_sensor");

        Assert.Equal("""[{"sensor":"t1","average":21},{"sensor":"t2","average":3}]""", _db.Query("SELECT * FROM averages ORDER BY sensor"));
        Assert.Equal("""[{"sensor":"t1","rank":1,"prev":null,"total":2,"avg":21}]""", _db.Query("""
            SELECT sensor, row_number() OVER (PARTITION BY sensor ORDER BY id) AS rank, lag(value) OVER (ORDER BY id) AS prev,
                   count(*) OVER () AS total, avg(value) OVER (PARTITION BY sensor) AS avg
            FROM readings WHERE sensor = 't1' ORDER BY id LIMIT 1
            """));
        Assert.Equal("""[{"n":10,"s":"1,2,3,4,5,6,7,8,9,10"}]""",
            _db.Query("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) SELECT count(*) AS n, group_concat(i) AS s FROM c"));
        Assert.Equal("""[{"j":"[1,2]","k":"a","t":"array","f":2,"m":1,"d":"2026-12-03","h":"4142","q":"42"}]""", _db.Query("""
            SELECT json_array(1, 2) AS j, (SELECT key FROM json_tree('{"a":1}') WHERE type = 'integer') AS k,
                   json_type('{"a":[]}', '$.a') AS t, floor(2.7) AS f, mod(7, 3) AS m, date('2026-12-03 10:00') AS d,
                   hex('AB') AS h, quote(42) AS q
            """));
        Assert.Equal("""[{"user_version":3}]""", _db.Query("PRAGMA user_version"));
        Assert.Contains("\"name\":\"sensor\"", _db.Query("SELECT * FROM pragma_table_info('readings')"), StringComparison.Ordinal);
        Assert.Contains("\"name\":\"value\"", _db.Query("PRAGMA table_info(readings)"), StringComparison.Ordinal);
        Assert.Contains("\"name\":\"y\"", _db.Query("SELECT name FROM sqlite_master WHERE type = 'table'"), StringComparison.Ordinal);
        _db.Exec("DROP VIEW averages; DROP TRIGGER readings_total; DROP INDEX readings_sensor; DROP TABLE totals");
        Assert.Equal("""[{"n":3}]""", _db.Query("SELECT count(*) AS n FROM sqlite_master"));
    }

    public static TheoryData<string, string> Refused => new()
    {
        // fts3_tokenizer hands out (one argument) and takes (two) native pointers: SQLite's documented
        // code-execution primitive (https://www.sqlite.org/fts3.html#f3tknzr).
        { "SELECT fts3_tokenizer('simple')", "function fts3_tokenizer" },
        { "SELECT fts3_tokenizer('evil', x'4141414141414141')", "function fts3_tokenizer" },
        { "SELECT hex(fts3_tokenizer('porter'))", "function fts3_tokenizer" },
        { "CREATE VIRTUAL TABLE boom USING fts3(x, tokenize=evil)", "fts3" },
        { "CREATE VIRTUAL TABLE f4 USING fts4(x)", "fts4" },
        { "CREATE VIRTUAL TABLE f5 USING fts5(x)", "fts5" },
        { "CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)", "rtree" },
        { "CREATE VIRTUAL TABLE j USING json_each", "virtual table j" },
        { "SELECT load_extension('/tmp/evil.so')", "function load_extension" },
        { "SELECT sqlite_compileoption_get(0)", "function sqlite_compileoption_get" },
        { "SELECT sqlite_offset(a) FROM x", "sqlite_offset" },
        { "SELECT sqlite_rename_table('main', 'table', 'x', 'CREATE TABLE x(a)', 'x', 'y', 0)", "no such function" },
        { "SELECT * FROM sqlite_stmt", "no such table" },
        { "SELECT * FROM dbstat", "no such table" },
        { "SELECT * FROM fts3tokenize", "no such table" },
        // Other files, and the file's own cap.
        { "ATTACH DATABASE '/tmp/other.db' AS other", "ATTACH" },
        { "VACUUM INTO '/tmp/iotpe-stolen.db'", "" },
        { "PRAGMA max_page_count = 2147483647", "PRAGMA max_page_count = 2147483647" },
        // TEMP objects live outside the database's size cap.
        { "CREATE TEMP TABLE t (a)", "TEMP objects are not allowed" },
        { "CREATE TEMPORARY TABLE t AS SELECT randomblob(1000)", "TEMP objects are not allowed" },
        { "CREATE TABLE temp.t (a)", "TEMP objects are not allowed" },
        { "CREATE TEMP VIEW v AS SELECT 1", "TEMP objects are not allowed" },
        { "CREATE TEMP TRIGGER tr AFTER INSERT ON x BEGIN SELECT 1; END", "TEMP objects are not allowed" },
        { "SELECT * FROM temp.sqlite_master", "TEMP objects are not allowed" },
        // Settings that would weaken the connection or reach outside it.
        { "PRAGMA writable_schema = ON", "PRAGMA writable_schema" },
        { "PRAGMA trusted_schema = ON", "PRAGMA trusted_schema" },
        { "PRAGMA journal_mode = OFF", "PRAGMA journal_mode" },
        { "PRAGMA temp_store = FILE", "PRAGMA temp_store" },
        { "PRAGMA temp_store_directory = '/tmp'", "PRAGMA temp_store_directory" },
        { "PRAGMA cache_size = -1000000", "PRAGMA cache_size" },
        { "PRAGMA mmap_size = 1000000000", "PRAGMA mmap_size" },
        { "SELECT * FROM pragma_compile_options", "PRAGMA compile_options" },
        { "ANALYZE", "ANALYZE" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_SQL_gets_a_clear_error_and_the_connection_keeps_working(string sql, string named)
    {
        var error = Assert.Throws<AccountDatabaseException>(() => _db.Query(sql));
        Assert.StartsWith("SQL error: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.OrdinalIgnoreCase);

        Assert.Equal("""[{"ok":1}]""", _db.Query("SELECT 1 AS ok"));
        Assert.False(File.Exists("/tmp/iotpe-stolen.db"));
    }

    [Fact]
    public void Vacuum_is_refused()
    {
        _db.Exec("INSERT INTO x (b) VALUES ('kept')");
        Assert.Throws<AccountDatabaseException>(() => _db.Exec("VACUUM"));
        Assert.Equal("""[{"b":"kept"}]""", _db.Query("SELECT b FROM x"));
    }

    [Fact]
    public void A_trigger_or_view_cannot_smuggle_a_refused_function_in()
    {
        // The authorizer checks trigger and view bodies when a statement uses them, not only when created.
        var trigger = Assert.Throws<AccountDatabaseException>(() =>
            _db.Exec("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT fts3_tokenizer('simple'); END; INSERT INTO x (b) VALUES (1)"));
        Assert.Contains("function fts3_tokenizer", trigger.Message, StringComparison.Ordinal);
        // In a view, the untrusted schema (trusted_schema=OFF) refuses it even before the authorizer.
        var view = Assert.Throws<AccountDatabaseException>(() =>
            _db.Query("CREATE VIEW v AS SELECT load_extension('/tmp/evil.so') AS e; SELECT * FROM v"));
        Assert.Contains("load_extension", view.Message, StringComparison.Ordinal);
        Assert.Equal("""[{"n":0}]""", _db.Query("SELECT count(*) AS n FROM x"));
    }

    [Fact]
    public void The_allow_list_holds_no_pointer_or_extension_function()
    {
        foreach (string refused in (string[])["fts3_tokenizer", "load_extension", "fts5", "sqlite_offset", "sqlite_compileoption_used"])
        {
            Assert.DoesNotContain(refused, ScriptSqlAuthorizer.Functions);
        }
        Assert.Equal(["json_each", "json_tree"], ScriptSqlAuthorizer.Modules);
    }
}
