using IoTPE.Broker;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// One account's run requests in the dispatcher: those waiting to be handed to the script workers, in
/// the order they arrived, and how many were handed over whose outcome is not published yet. The
/// account's one consumer (<see cref="ScriptDispatcher"/>) takes from the head and publishes outcomes in
/// the same order, so the account's order is kept by there being one reader. Fields are guarded by the
/// dispatcher's lock unless noted.
/// </summary>
internal sealed class AccountRunQueue(string account)
{
    private TaskCompletionSource? _wake;

    public string Account { get; } = account;

    /// <summary>Requests not yet handed over, oldest first.</summary>
    public Queue<InternalDelivery> Waiting { get; } = new();

    /// <summary>Runs handed to the script workers whose outcome is not yet published and acknowledged.</summary>
    public int Running { get; set; }

    /// <summary>A recovered request of this account is running: nothing else of the account starts meanwhile.</summary>
    public bool RecoveredRunning { get; set; }

    /// <summary>The account's consumer is alive; a new request only wakes it.</summary>
    public bool Consuming { get; set; }

    /// <summary>Failed dispatch attempts of the head request. The consumer's own.</summary>
    public int HeadFailures { get; set; }

    public bool IsIdle => Waiting.Count == 0 && Running == 0 && !Consuming;

    /// <summary>Completes at the next <see cref="Wake"/>: take it before looking at the queue, so no wake-up is lost.</summary>
    public Task NextWake()
    {
        _wake ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _wake.Task;
    }

    /// <summary>Something the consumer waits for changed: a request arrived, or the recovery slot is free.</summary>
    public void Wake()
    {
        _wake?.TrySetResult();
        _wake = null;
    }
}
