using System.Buffers;
using System.Text;
using System.Text.Json;

namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>
/// One account's database as a script sees it: <c>db.query</c> and <c>db.exec</c> with JSON parameters,
/// on a real file in a temp folder.
/// </summary>
internal sealed class AccountDatabaseSession : IDisposable
{
    private readonly TempFolder _folder = new();

    public AccountDatabaseSession(AccountDatabaseLimits? limits = null, Func<string?>? writeRefusal = null) =>
        Databases = new SqliteAccountDatabases(_folder.Path, limits ?? AccountDatabaseLimits.Default) { WriteRefusal = writeRefusal };

    public SqliteAccountDatabases Databases { get; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The JSON <c>db.query</c> returns.</summary>
    public string Query(string sql, string parameters = "null") => Call(sql, parameters, query: true);

    /// <summary>The JSON <c>db.exec</c> returns.</summary>
    public string Exec(string sql, string parameters = "null") => Call(sql, parameters, query: false);

    public void Dispose()
    {
        Databases.Dispose();
        _folder.Dispose();
    }

    private string Call(string sql, string parameters, bool query)
    {
        using JsonDocument document = JsonDocument.Parse(parameters);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (query)
            {
                Databases.Query("alice", sql, document.RootElement, writer, Timeout);
            }
            else
            {
                Databases.Execute("alice", sql, document.RootElement, writer, Timeout);
            }
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
