using System.Reflection;
using System.Runtime.InteropServices;
using SQLitePCL;

namespace IoTPE.Sqlite;

/// <summary>
/// Binds SQLitePCLRaw (under IoTPE.Sqlite's statements and Microsoft.Data.Sqlite alike) to the
/// SQLite library IoTPE ships with. The NativeAOT binary links Debian's <c>libsqlite3.a</c>
/// statically (DirectPInvoke of <c>e_sqlite3</c>); JIT runs and tests load the system's
/// <c>libsqlite3.so.0</c>, so both use the same SQLite.
/// </summary>
public static class SqliteRuntime
{
    private static readonly Lock InitLock = new();
    private static bool s_initialized;

    /// <summary>Makes SQLite usable. Safe to call more than once, from any thread.</summary>
    public static void Initialize()
    {
        lock (InitLock)
        {
            if (s_initialized)
            {
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(SQLite3Provider_e_sqlite3).Assembly, ResolveSqlite);
            // This assembly calls a few SQLite functions SQLitePCLRaw does not wrap (SqliteModules).
            NativeLibrary.SetDllImportResolver(typeof(SqliteRuntime).Assembly, ResolveSqlite);
            raw.SetProvider(new SQLite3Provider_e_sqlite3());
            s_initialized = true;
        }
    }

    /// <summary>The SQLite library's version, e.g. <c>3.40.1</c>.</summary>
    public static string Version
    {
        get
        {
            Initialize();
            return raw.sqlite3_libversion().utf8_to_string();
        }
    }

    private static nint ResolveSqlite(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != "e_sqlite3")
        {
            return 0;
        }
        foreach (string candidate in (ReadOnlySpan<string>)["libsqlite3.so.0", "libsqlite3.so", "libe_sqlite3.so"])
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out nint handle))
            {
                return handle;
            }
        }
        return 0;
    }
}
