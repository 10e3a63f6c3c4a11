using IoTPE.Broker;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// One account's run requests in the dispatcher: those waiting to be handed to the script workers,
/// in the order they arrived, and how many were handed over and are not finished. The account's
/// only consumer is the dispatch loop, which takes from the head, so the account's runs keep the
/// order of its requests. Fields are guarded by the dispatcher's lock unless noted.
/// </summary>
internal sealed class AccountRunQueue(string account)
{
    public string Account { get; } = account;

    /// <summary>Requests not yet handed over, oldest first.</summary>
    public Queue<InternalDelivery> Waiting { get; } = new();

    /// <summary>Runs handed to the script workers and not yet finished (outcome published, acknowledged).</summary>
    public int Running { get; set; }

    /// <summary>A recovered request of this account is running: nothing else of the account starts meanwhile.</summary>
    public bool RecoveredRunning { get; set; }

    /// <summary>In the dispatch loop's work channel.</summary>
    public bool Scheduled { get; set; }

    /// <summary>The head's dispatch failed; it is tried again after a delay, the rest waits behind it.</summary>
    public bool RetryPending { get; set; }

    /// <summary>Failed dispatch attempts of the head request.</summary>
    public int HeadFailures { get; set; }

    /// <summary>
    /// The outcome of the account's latest run: each outcome waits for the one before it to be
    /// published, so results and errors come out in the order of the requests. Dispatch loop only.
    /// </summary>
    public Task LastOutcome { get; set; } = Task.CompletedTask;

    public bool IsIdle => Waiting.Count == 0 && Running == 0 && !Scheduled && !RetryPending;
}
