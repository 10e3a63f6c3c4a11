using System.Runtime.InteropServices;
using SQLitePCL;

namespace IoTPE.Sqlite;

/// <summary>
/// The virtual-table modules registered on a connection (https://www.sqlite.org/vtab.html): SQLite
/// registers every module it was compiled with (Debian's: fts3, fts4, fts5, rtree, dbstat,
/// sqlite_stmt, json_each, ...) on each new connection; <see cref="KeepOnly"/> removes the others.
/// </summary>
public static partial class SqliteModules
{
    /// <summary>
    /// Removes every virtual-table module from <paramref name="connection"/> except those named in
    /// <paramref name="keep"/> (https://www.sqlite.org/c3ref/drop_modules.html). Tables using a removed
    /// module then fail with "no such module", and the module's table-valued functions do not exist.
    /// </summary>
    /// <exception cref="InvalidOperationException">SQLite refused (it only does so on misuse).</exception>
    public static void KeepOnly(sqlite3 connection, IReadOnlyList<string> keep)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(keep);
        SqliteRuntime.Initialize();
        // A NULL-terminated array of UTF-8 strings; SQLite reads it during the call only.
        nint[] names = new nint[keep.Count + 1];
        bool added = false;
        try
        {
            for (int i = 0; i < keep.Count; i++)
            {
                names[i] = Marshal.StringToCoTaskMemUTF8(keep[i]);
            }
            connection.DangerousAddRef(ref added);
            unsafe
            {
                fixed (nint* list = names)
                {
                    int rc = sqlite3_drop_modules(connection.DangerousGetHandle(), (nint)list);
                    if (rc != raw.SQLITE_OK)
                    {
                        throw new InvalidOperationException("sqlite3_drop_modules failed: " + raw.sqlite3_errstr(rc).utf8_to_string());
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                connection.DangerousRelease();
            }
            foreach (nint name in names)
            {
                Marshal.FreeCoTaskMem(name);
            }
        }
    }

    // "e_sqlite3": the same library name SQLitePCLRaw's provider imports, so the NativeAOT binary's
    // DirectPInvoke binds it to the statically linked SQLite and JIT runs to SqliteRuntime's resolver.
    [LibraryImport("e_sqlite3")]
    private static partial int sqlite3_drop_modules(nint connection, nint keep);
}
