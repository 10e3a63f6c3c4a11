using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// When a message was stored (schema version 5) comes back with it after a restart, so the age of a
/// queue's oldest message (the bridge's "oldest queued age") is right after a restart and readable
/// from the file alone.
/// </summary>
public sealed class StoredAtTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_time_a_message_was_stored_comes_back_from_a_load()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.InsertMessage(Message(1, storedAt: 1_700_000_000_123));
            store.InsertMessage(Message(2, storedAt: null));
            store.SetRetained("r/1", 1);
            store.SetRetained("r/2", 2);
            Assert.True(await store.DurableAsync());
        }

        await using var reopened = new SqliteBrokerStore(_folder.Path);
        Assert.Equal([(1L, (long?)1_700_000_000_123), (2L, null)], reopened.Load().Messages.Select(m => (m.Id, m.StoredAtUnixMs)));
    }

    private static StoredMessage Message(long id, long? storedAt) =>
        new(id, SampleRecords.Packet(id), null, "pub", null) { PayloadApart = true, Payload = new byte[] { 1 }, PayloadLength = 1, StoredAtUnixMs = storedAt };
}
