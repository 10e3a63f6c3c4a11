namespace IoTPE.Broker.Storage.MySql.Tests;

internal static class StoreFactory
{
    public static MySqlBrokerStore Open(string connectionString, CollectingLog? log = null) =>
        new(new MySqlBrokerStoreOptions
        {
            ConnectionString = connectionString,
            Log = log is null ? _ => { } : log.Write,
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        });

    public static async Task<StoredBrokerState> LoadAsync(string connectionString)
    {
        await using MySqlBrokerStore store = Open(connectionString);
        return store.Load();
    }
}
