using IoTPE.Broker.Storage;
using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>
/// Issue 12 (disk): inside the disk reserve a script's SQL that writes fails with "disk reserve
/// reached" and writes nothing, while reads and transaction control still run; once space returns,
/// writes work again.
/// </summary>
public sealed class ScriptSqlDiskReserveTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly SettableDisk _disk = new() { Free = 100 * MiB };
    private readonly DiskReserve _reserve;
    private readonly AccountDatabaseSession _db;

    public ScriptSqlDiskReserveTests()
    {
        _reserve = new DiskReserve(64 * MiB, _disk, refreshInterval: TimeSpan.Zero);
        _db = new AccountDatabaseSession(writeRefusal: _reserve.AccountWriteRefusal);
    }

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Writes_fail_inside_the_reserve_and_reads_go_on()
    {
        _db.Exec("CREATE TABLE t (v)");
        _db.Exec("INSERT INTO t VALUES (1)");

        _disk.Free = 10 * MiB;
        foreach (string write in new[] { "INSERT INTO t VALUES (2)", "UPDATE t SET v = 3", "CREATE TABLE u (v)", "DELETE FROM t" })
        {
            AccountDatabaseException refused = Assert.Throws<AccountDatabaseException>(() => _db.Exec(write));
            Assert.StartsWith("SQL error: disk reserve reached: 10485760 bytes free", refused.Message, StringComparison.Ordinal);
            Assert.Contains("storage.diskReserveBytes", refused.Message, StringComparison.Ordinal);
        }
        // db.query cannot write around it either.
        Assert.Throws<AccountDatabaseException>(() => _db.Query("INSERT INTO t VALUES (4) RETURNING v"));
        Assert.Equal("""[{"v":1}]""", _db.Query("SELECT v FROM t"));
        Assert.StartsWith("""{"changes":""", _db.Exec("BEGIN; COMMIT"), StringComparison.Ordinal); // transaction control is read-only
        Assert.Equal(5, _reserve.Refusals); // four db.exec writes and one db.query write

        _disk.Free = 64 * MiB;
        _db.Exec("INSERT INTO t VALUES (5)");
        Assert.Equal("""[{"v":1},{"v":5}]""", _db.Query("SELECT v FROM t ORDER BY v"));
    }

    private sealed class SettableDisk : IFreeSpaceProbe
    {
        public long Free { get; set; }

        public long AvailableBytes() => Free;
    }
}
