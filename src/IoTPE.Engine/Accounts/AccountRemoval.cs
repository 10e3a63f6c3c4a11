using IoTPE.Broker;
using IoTPE.Engine.Scripts;
using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Accounts;

/// <summary>
/// Finishes the removal of accounts. <see cref="IAccountStore.RemoveAccount"/> deletes what the
/// account store holds (the account, its grants, kv entries, scripts) and records the removal as
/// pending; what lives elsewhere goes here: the broker's sessions of clients that logged in as the
/// account (with their queues) and the retained messages under <c>/&lt;account&gt;/</c>, and the account's
/// database folder. The running engine does it as soon as it notices the removal (the account
/// directory's poll); <c>iotpe account remove</c> does it itself when no <c>iotpe run</c> holds the data
/// folder. Until it is finished, the name cannot be used for a new account.
/// </summary>
public sealed class AccountRemoval : IAsyncDisposable
{
    private readonly AccountDirectory _directory;
    private readonly IUserDataRemoval _broker;
    private readonly IAccountDatabases _databases;
    private readonly TimeSpan _grace;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _worker;

    /// <param name="directory">The accounts; a change wakes the worker.</param>
    /// <param name="broker">Where sessions and retained messages are removed.</param>
    /// <param name="databases">The accounts' databases.</param>
    /// <param name="grace">
    /// How long to wait after the account's clients were disconnected before its database is deleted:
    /// longer than one script run, so that a run under way when the account went away has ended
    /// (runs that start later find no account and do nothing).
    /// </param>
    /// <param name="log">Where the outcome is logged.</param>
    /// <param name="time">The clock of the grace period.</param>
    internal AccountRemoval(AccountDirectory directory, IUserDataRemoval broker, IAccountDatabases databases, TimeSpan grace, ILogger log, TimeProvider time)
    {
        _directory = directory;
        _broker = broker;
        _databases = databases;
        _grace = grace;
        _log = log;
        _time = time;
    }

    /// <summary>Finishes the removals pending now and those to come.</summary>
    internal void Start()
    {
        _directory.Changed += Wake;
        _worker = Task.Run(RunAsync);
        Wake();
    }

    /// <summary>
    /// Removes what the broker and the databases hold for a removed account and ends its pending
    /// removal in <paramref name="store"/>. Used by the engine and by <c>iotpe account</c> when no engine runs.
    /// </summary>
    public static async Task<(int Sessions, int Retained)> FinishAsync(string name, IUserDataRemoval broker, IAccountStore store, IAccountDatabases databases)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(databases);
        (int sessions, int retained) = await broker.RemoveUserDataAsync(name, "/" + name).ConfigureAwait(false);
        databases.Delete(name);
        store.FinishRemoval(name);
        return (sessions, retained);
    }

    private void Wake() => _wake.Release();

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                await _wake.WaitAsync(_stopping.Token).ConfigureAwait(false);
                while (_wake.CurrentCount > 0)
                {
                    await _wake.WaitAsync(_stopping.Token).ConfigureAwait(false); // one pass serves every wake-up so far
                }
                foreach (string name in _directory.Store.PendingRemovals())
                {
                    if (_directory.Current.Exists(name))
                    {
                        continue; // the snapshot is older than the removal: the next reload wakes us again
                    }
                    await FinishOneAsync(name).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping; an unfinished removal is finished after the next start.
        }
    }

    private async Task FinishOneAsync(string name)
    {
        try
        {
            // At once, so that the account's clients lose their connections and nobody reads its retained data.
            (int sessions, int retained) = await _broker.RemoveUserDataAsync(name, "/" + name).ConfigureAwait(false);
            await Task.Delay(_grace, _time, _stopping.Token).ConfigureAwait(false);
            (int laterSessions, int laterRetained) = await FinishAsync(name, _broker, _directory.Store, _databases).ConfigureAwait(false);
            _log.AccountRemovalFinished(name, sessions + laterSessions, retained + laterRetained);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            _log.AccountRemovalFailed(name, e);
        }
    }

    /// <summary>Stops; a removal under way is finished after the next start.</summary>
    public async ValueTask DisposeAsync()
    {
        _directory.Changed -= Wake;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_worker is not null)
        {
            await _worker.ConfigureAwait(false);
        }
        _stopping.Dispose();
        _wake.Dispose();
    }
}
