using IoTPE.Broker.Storage;
using IoTPE.Sqlite;
using Microsoft.Data.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// A broker.db of schema version 1 (client identifiers global) opened by this release: every
/// account's session and its rows move to the key scoped by account (<c>&lt;account&gt;:&lt;id&gt;</c>;
/// anonymous ones keep theirs unless it has a <c>:</c>), so persistent sessions survive the upgrade.
/// </summary>
public sealed class SessionKeyMigrationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Version_1_sessions_are_rekeyed_by_account_with_all_their_rows()
    {
        string path = Path.Combine(_folder.Path, "broker.db");
        SqliteRuntime.Initialize();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = BrokerSchema.Migrations[0] + """
                PRAGMA user_version = 1;
                INSERT INTO sessions VALUES ('gateway-line-7', 5, 4294967295, 1000, 'bob'), ('open-1', 4, 60, NULL, NULL), ('aa:bb', 4, 60, NULL, NULL), ('$iotpe/engine', 5, 4294967295, NULL, NULL);
                INSERT INTO subscriptions VALUES ('gateway-line-7', '/bob/#', 1, 0), ('open-1', 'open/#', 1, 0), ('$iotpe/engine', '+/run/#', 1, 0), ('gone', 'x', 0, 0);
                INSERT INTO messages VALUES (1, x'00', NULL, NULL, NULL);
                INSERT INTO deliveries VALUES ('gateway-line-7', 3, 1, 1, 0, 0, NULL);
                INSERT INTO incoming_packet_identifiers VALUES ('open-1', 9);
                """;
            command.ExecuteNonQuery();
        }

        await using var store = new SqliteBrokerStore(_folder.Path);
        StoredBrokerState state = store.Load();

        Assert.Equal(5, DatabaseProbe.Scalar(path, "PRAGMA user_version"));
        Assert.Equal(
            [
                new StoredSession("$iotpe/engine", 5, uint.MaxValue, null, null), new StoredSession(":aa:bb", 4, 60, null, null),
                new StoredSession("bob:gateway-line-7", 5, uint.MaxValue, 1000, "bob"), new StoredSession("open-1", 4, 60, null, null),
            ],
            state.Sessions.OrderBy(s => s.ClientId, StringComparer.Ordinal));
        Assert.Equal(["$iotpe/engine +/run/#", "bob:gateway-line-7 /bob/#", "open-1 open/#"],
            state.Subscriptions.Select(s => s.ClientId + " " + s.TopicFilter).Order(StringComparer.Ordinal));
        Assert.Equal("bob:gateway-line-7", Assert.Single(state.Deliveries).ClientId);
        Assert.Equal(new StoredIncomingPacketIdentifier("open-1", 9), Assert.Single(state.IncomingPacketIdentifiers));
    }
}
