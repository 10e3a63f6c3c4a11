using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Tests;

internal static class StoreTestExtensions
{
    /// <summary>Generous, so that a loaded CI machine does not fail a test; a hang still fails it.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Asks for a <see cref="IBrokerStore.WhenDurable"/> callback and awaits its outcome.</summary>
    public static Task<bool> DurableAsync(this IBrokerStore store)
    {
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.WhenDurable(outcome.SetResult);
        return outcome.Task.WaitAsync(Patience);
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing after <see cref="Patience"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting for " + what);
            }
            await Task.Delay(5);
        }
    }
}
