using System.Collections.Concurrent;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// The newest version of each stored script, cached in memory and dropped as soon as the store's
/// change counter moves (checked at every <see cref="Poll"/>, once a second in the engine, and right
/// after this process changes a script), so a run always uses one whole version and a newly loaded
/// version is used from the next run on.
/// </summary>
internal sealed class ScriptCatalog
{
    private readonly IScriptStore _store;
    private ConcurrentDictionary<(string Account, string Name), StoredScript?> _latest = new();
    private long _version;

    public ScriptCatalog(IScriptStore store)
    {
        _store = store;
        _version = store.ChangeVersion;
    }

    /// <summary>Called after the cache was dropped because scripts or schedules changed.</summary>
    public event Action? Changed;

    public IScriptStore Store => _store;

    /// <summary>The newest version of a script, or null.</summary>
    public StoredScript? Latest(string account, string name) =>
        _latest.GetOrAdd((account, name), key => _store.GetLatest(key.Account, key.Name));

    /// <summary>Drops the cache if the store changed.</summary>
    public void Refresh()
    {
        long version = _store.ChangeVersion;
        if (Interlocked.Exchange(ref _version, version) != version)
        {
            _latest = new ConcurrentDictionary<(string, string), StoredScript?>();
            Changed?.Invoke();
        }
    }

    /// <summary>Raised when reading the store failed during a poll (the cache stays as it was).</summary>
    public event Action<Exception>? PollFailed;

    /// <summary><see cref="Refresh"/> for a timer, which must not throw (that would end the process): failures go to <see cref="PollFailed"/>.</summary>
    public void Poll()
    {
        try
        {
            Refresh();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            PollFailed?.Invoke(e);
        }
    }
}
