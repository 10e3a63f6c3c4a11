namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>The command results a caller received (its results handler), with a wait (woken by each arrival) for one call's result.</summary>
public sealed class CommandResultLog
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);
    private readonly SignalledList<CommandResult> _results = new();

    /// <summary>A results handler that records every result.</summary>
    public ValueTask Handler(CommandResult result, CancellationToken cancellationToken)
    {
        _results.Add(result);
        return ValueTask.CompletedTask;
    }

    public bool HasResult(string messageId) => _results.Items.Any(r => r.MessageId == messageId);

    /// <summary>Results received for a call that had one already (each call should be answered once).</summary>
    public int Duplicates
    {
        get
        {
            IReadOnlyList<CommandResult> results = _results.Items;
            return results.Count - results.Select(r => r.MessageId).Distinct().Count();
        }
    }

    /// <summary>The (first) result of the call <paramref name="messageId"/>, once it arrived.</summary>
    public async Task<CommandResult> ResultOf(string messageId, TimeSpan? timeout = null)
    {
        if (!await _results.WaitUntilAsync(results => results.Any(r => r.MessageId == messageId), timeout ?? DefaultTimeout))
        {
            throw new TimeoutException($"No result for call {messageId}.");
        }

        return _results.Items.First(r => r.MessageId == messageId);
    }
}
