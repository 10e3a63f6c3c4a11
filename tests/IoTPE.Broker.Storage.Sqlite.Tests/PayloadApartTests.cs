using IoTPE.Broker.Storage;
using IoTPE.Sqlite;
using Microsoft.Data.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// Payloads stored apart from their packets (schema version 3): a load gives their lengths and
/// leaves them on disk, <see cref="IBrokerStore.ReadPayload"/> reads one back at once, from any
/// thread, while the writer works; messages stored by an older release still load whole.
/// </summary>
public sealed class PayloadApartTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_load_leaves_the_payload_on_disk_and_ReadPayload_returns_it_byte_for_byte()
    {
        byte[] payload = new byte[300 * 1024];
        Random.Shared.NextBytes(payload);
        await using var store = new SqliteBrokerStore(_folder.Path);
        store.InsertMessage(Apart(1, payload));
        store.InsertMessage(Apart(2, []));
        store.SetRetained("r/1", 1);
        store.SetRetained("r/2", 2);
        Assert.True(await store.DurableAsync());

        StoredBrokerState state = store.Load();

        Assert.Equal([(1L, true, payload.Length, 0), (2L, true, 0, 0)], state.Messages.Select(m => (m.Id, m.PayloadApart, m.PayloadLength, m.Payload.Length)));
        Assert.Equal(payload, store.ReadPayload(1));
        Assert.Equal(Array.Empty<byte>(), store.ReadPayload(2));
        Assert.Null(store.ReadPayload(3));
    }

    [Fact]
    public async Task ReadPayload_sees_committed_messages_while_the_writer_holds_a_batch_open()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        store.InsertMessage(Apart(1, [1, 2, 3]));
        Assert.True(await store.DurableAsync());

        store.PauseWriter();
        try
        {
            store.InsertMessage(Apart(2, [4]));
            Task<byte[]?> read = Task.Run(() => store.ReadPayload(1));
            Assert.Equal(new byte[] { 1, 2, 3 }, await read.WaitAsync(StoreTestExtensions.Patience));
            Assert.Null(store.ReadPayload(2)); // not committed yet
        }
        finally
        {
            store.ResumeWriter();
        }
        Assert.True(await store.DurableAsync());
        Assert.Equal(new byte[] { 4 }, store.ReadPayload(2));
    }

    [Fact]
    public async Task A_message_stored_by_version_2_keeps_its_payload_inside_its_packet_after_the_upgrade()
    {
        string path = Path.Combine(_folder.Path, "broker.db");
        byte[] packet = SampleRecords.Packet(7);
        SqliteRuntime.Initialize();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = BrokerSchema.Migrations[0] + BrokerSchema.Migrations[1] + """
                PRAGMA user_version = 2;
                INSERT INTO retained VALUES ('r/7', 7);
                INSERT INTO messages VALUES (7, $packet, NULL, 'pub', NULL);
                """;
            command.Parameters.AddWithValue("$packet", packet);
            command.ExecuteNonQuery();
        }

        await using var store = new SqliteBrokerStore(_folder.Path);
        StoredMessage message = Assert.Single(store.Load().Messages);

        Assert.Equal(5, DatabaseProbe.Scalar(path, "PRAGMA user_version"));
        Assert.False(message.PayloadApart);
        Assert.Equal(packet, message.Packet);
        Assert.Null(store.ReadPayload(7));
        Assert.Null(message.StoredAtUnixMs); // stored before schema 5: when is not known
    }

    private static StoredMessage Apart(long id, byte[] payload) =>
        new(id, SampleRecords.Packet(id), null, "pub", null) { PayloadApart = true, Payload = payload, PayloadLength = payload.Length };
}
