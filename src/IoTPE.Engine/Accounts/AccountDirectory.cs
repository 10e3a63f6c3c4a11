
namespace IoTPE.Engine.Accounts;

/// <summary>
/// The accounts and grants the engine works with, in memory, as one immutable snapshot that is
/// replaced whole when anything changes — by the engine itself, or by <c>iotpe account</c> in
/// another process (noticed at the next <see cref="Poll"/>, once a second in the engine, through
/// <see cref="IAccountStore.ChangeVersion"/>).
/// Reads never lock.
/// </summary>
public sealed class AccountDirectory
{
    private readonly IAccountStore _store;
    private readonly Lock _reloadLock = new();
    private AccountSnapshot _snapshot;
    private long _loadedVersion;

    /// <summary>Loads the directory.</summary>
    public AccountDirectory(IAccountStore store)
    {
        _store = store;
        _loadedVersion = store.ChangeVersion;
        _snapshot = Load();
    }

    private readonly Lock _refreshGate = new();
    private Task _refresh = Task.CompletedTask;
    private long _refreshLoadsAt = long.MinValue / 2;

    /// <summary>
    /// Reloads the accounts whatever the store's change counter says, at most once per
    /// <paramref name="minInterval"/>: for stores whose accounts can appear without moving the counter,
    /// such as database users an administrator created. The reload the caller waits for always reads
    /// the store after the call (a caller within the interval waits for the next one, shared with
    /// everybody else waiting). A store that cannot be read leaves the snapshot as it is.
    /// </summary>
    public Task RefreshAsync(TimeSpan minInterval, CancellationToken cancellationToken)
    {
        Task refresh;
        lock (_refreshGate)
        {
            long now = Environment.TickCount64;
            if (!_refresh.IsCompleted && _refreshLoadsAt >= now)
            {
                refresh = _refresh; // a reload that has not read the store yet serves this caller too
            }
            else
            {
                long loadsAt = Math.Max(now, _refreshLoadsAt + (long)minInterval.TotalMilliseconds);
                Task previous = _refresh;
                _refreshLoadsAt = loadsAt;
                refresh = _refresh = Task.Run(async () =>
                {
                    await previous.ConfigureAwait(false); // never faults: ForceReload reports its errors
                    long wait = loadsAt - Environment.TickCount64;
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(wait)).ConfigureAwait(false);
                    }
                    ForceReload();
                }, CancellationToken.None);
            }
        }
        return refresh.WaitAsync(cancellationToken);
    }

    private void ForceReload()
    {
        try
        {
            lock (_reloadLock)
            {
                long version = _store.ChangeVersion;
                AccountSnapshot loaded = Load();
                _loadedVersion = version;
                Volatile.Write(ref _snapshot, loaded);
            }
            Changed?.Invoke();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            PollFailed?.Invoke(e);
        }
    }

    /// <summary>Called after the snapshot was replaced.</summary>
    public event Action? Changed;

    /// <summary>The current accounts and grants.</summary>
    public AccountSnapshot Current => Volatile.Read(ref _snapshot);

    /// <summary>The store behind the directory.</summary>
    public IAccountStore Store => _store;

    /// <summary>Reloads now if the store changed since the last load.</summary>
    public void ReloadIfChanged()
    {
        lock (_reloadLock)
        {
            long version = _store.ChangeVersion;
            if (version == _loadedVersion)
            {
                return;
            }
            AccountSnapshot loaded = Load(); // throws if the store cannot be read: the version is then read again next time
            _loadedVersion = version;
            Volatile.Write(ref _snapshot, loaded);
        }
        Changed?.Invoke();
    }

    /// <summary>Raised when reading the store failed during a poll (the previous snapshot stays in use).</summary>
    public event Action<Exception>? PollFailed;

    /// <summary>
    /// <see cref="ReloadIfChanged"/> for a timer, which must not throw (that would end the process):
    /// a store that cannot be read for a moment (locked, I/O error) is reported through
    /// <see cref="PollFailed"/> and leaves the previous snapshot in place until the next poll.
    /// </summary>
    public void Poll()
    {
        try
        {
            ReloadIfChanged();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            PollFailed?.Invoke(e);
        }
    }

    private AccountSnapshot Load()
    {
        (IReadOnlyList<Account> accounts, IReadOnlyList<Grant> grants) = _store.LoadAll();
        return new AccountSnapshot(accounts, grants);
    }
}
