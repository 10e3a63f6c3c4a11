using System.Threading.Channels;
using IoTPE.Client.Logging;
using IoTPE.Client.Session;

namespace IoTPE.Client.Dispatch;

/// <summary>
/// Runs the handlers of received messages. Events are handled one at a time in arrival order; command calls
/// concurrently (a bounded number), cancellations at once. Before each attempt on a QoS 2 message the attempt is
/// committed — in the same group commit as the previous message's completion — so after a crash the client knows
/// which messages a handler may have seen, and at most the last one handed over can be handed over again. A failed attempt is retried after <see cref="MqttClientOptions.HandlerRetryBackoff"/> while later
/// messages go on; after <see cref="MqttClientOptions.HandlerMaxAttempts"/> the message is dead-lettered and
/// acknowledged. A message no subscription matches waits (parked) for one, up to
/// <see cref="MqttClientOptions.UnhandledMessageTimeout"/>, unless its filter was unsubscribed (then it is dropped).
/// </summary>
internal sealed class HandlerDispatcher
{
    private const int MaxBatch = 64;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ClientSession _session;
    private readonly Channel<Delivery> _ordered = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<Delivery> _parked = [];
    private TaskCompletionSource? _firstParked; // under the session lock; completed when _parked stops being empty
    private readonly SemaphoreSlim _commandSlots;
    private readonly HashSet<Task> _background = [];
    private Task _loop = Task.CompletedTask;
    private Task _sweep = Task.CompletedTask;

    public HandlerDispatcher(ClientSession session)
    {
        _session = session;
        _commandSlots = new SemaphoreSlim(session.Options.MaxConcurrentCommands);
    }

    private CancellationToken Stopping => _session.Stopping;

    /// <summary>Queues a message for its handlers.</summary>
    public void Enqueue(Delivery delivery) => _ordered.Writer.TryWrite(delivery);

    public void Start()
    {
        _loop = Task.Run(RunAsync);
        _sweep = Task.Run(SweepParkedAsync);
    }

    /// <summary>Gives the waiting messages another chance to find a subscription (after the subscriptions changed).</summary>
    public void Unpark()
    {
        List<Delivery> parked;
        lock (_session.Gate)
        {
            parked = [.. _parked];
            _parked.Clear();
        }

        foreach (Delivery delivery in parked)
        {
            Enqueue(delivery);
        }
    }

    /// <summary>Waits for the loops and running handlers to end (after <see cref="ClientSession.Stopping"/> was cancelled).</summary>
    public async Task StopAsync()
    {
        _ordered.Writer.TryComplete();
        Task[] background;
        lock (_background)
        {
            background = [_loop, _sweep, .. _background];
        }

        try
        {
            // Handlers see their token cancelled; one that ignores it is not waited for beyond this.
            await Task.WhenAll(background).WaitAsync(StopTimeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (TimeoutException)
        {
            // A handler ignores its cancellation: the client closes anyway; its message stays unacknowledged.
        }
    }

    private async Task RunAsync()
    {
        ChannelReader<Delivery> reader = _ordered.Reader;
        var batch = new List<Delivery>(MaxBatch);
        var events = new List<Delivery>(MaxBatch);
        var dropped = new List<Delivery>();
        try
        {
            while (await reader.WaitToReadAsync(Stopping).ConfigureAwait(false))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out Delivery? next))
                {
                    batch.Add(next);
                }

                lock (_session.Gate)
                {
                    foreach (Delivery delivery in batch)
                    {
                        List<Subscription> targets = _session.Subscriptions.Match(delivery.Message.Topic);
                        if (targets.Count == 0)
                        {
                            if (_session.Subscriptions.IsDropped(delivery.Message.Topic))
                            {
                                dropped.Add(delivery);
                            }
                            else
                            {
                                Park(delivery);
                            }

                            continue;
                        }

                        delivery.Targets = targets;
                        delivery.ParkedAtMs = 0;
                        if (targets.Exists(t => t.Kind == SubscriptionKind.Control))
                        {
                            Track(RunControlAsync(delivery));
                        }
                        else if (targets.Exists(t => t.Kind == SubscriptionKind.Command))
                        {
                            Track(RunCommandAsync(delivery));
                        }
                        else
                        {
                            events.Add(delivery);
                        }
                    }
                }

                foreach (Delivery delivery in dropped)
                {
                    ClientLog.UnsubscribedMessageDropped(_session.Logger, delivery.Message.Topic);
                    _session.Incoming.Complete(delivery, null);
                }

                foreach (Delivery delivery in events)
                {
                    // One at a time: this attempt's record is committed after (or with) the previous message's
                    // completion, which was submitted before it — so a crash can catch at most the last message
                    // handed over between its handler's success and the commit that ends it.
                    if (await BeginAttemptsAsync([delivery]).ConfigureAwait(false))
                    {
                        await RunAttemptAsync(delivery).ConfigureAwait(false);
                    }
                }

                batch.Clear();
                events.Clear();
                dropped.Clear();
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // Stopping: queued messages stay stored (QoS 2) or unacknowledged (QoS 1) for the next run.
        }
    }

    private async Task RunCommandAsync(Delivery delivery)
    {
        await Task.Yield();
        await _commandSlots.WaitAsync(Stopping).ConfigureAwait(false);
        try
        {
            if (await BeginAttemptsAsync([delivery]).ConfigureAwait(false))
            {
                await RunAttemptAsync(delivery).ConfigureAwait(false);
            }
        }
        finally
        {
            _commandSlots.Release();
        }
    }

    private async Task RunControlAsync(Delivery delivery)
    {
        await Task.Yield();
        if (await BeginAttemptsAsync([delivery]).ConfigureAwait(false))
        {
            await RunAttemptAsync(delivery).ConfigureAwait(false);
        }
    }

    /// <summary>Counts the attempt (durably for QoS 2); false, with the deliveries rescheduled, when that failed.</summary>
    private async Task<bool> BeginAttemptsAsync(List<Delivery> deliveries)
    {
        var stored = deliveries.Where(d => d.InboxId != 0).ToList();
        if (stored.Count > 0)
        {
            try
            {
                await _session.Incoming.RecordAttemptsAsync(stored).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ClientLog.StoreWriteFailed(_session.Logger, ex);
                foreach (Delivery delivery in deliveries)
                {
                    RetryLater(delivery, _session.Options.HandlerRetryBackoff.GetDelay(1));
                }

                return false;
            }
        }

        foreach (Delivery delivery in deliveries)
        {
            delivery.Attempts++;
            delivery.Message.DeliveryAttempt = delivery.Attempts;
            delivery.Message.IsRedelivery = delivery.Attempts > 1 || delivery.ResentByBroker;
        }

        return true;
    }

    private async Task RunAttemptAsync(Delivery delivery)
    {
        if (_session.Options.HandlerMaxAttempts is { } limit && delivery.Attempts > limit)
        {
            // Earlier runs used up the attempts (the process died during them, e.g. killed by this very message).
            _session.Incoming.Complete(delivery, (DeadLetterReason.HandlerFailed, $"No handler attempt completed in {limit} attempts: the process stopped during them."));
            return;
        }

        Exception? failure = null;
        foreach (Subscription target in delivery.Targets)
        {
            if (delivery.HasSucceeded(target))
            {
                continue;
            }

            try
            {
                delivery.Succeeded(target, await target.Handler(delivery.Message, Stopping).ConfigureAwait(false));
            }
            catch (Exception) when (Stopping.IsCancellationRequested)
            {
                return; // Stopping: the message is handled again by the next run.
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }

        if (failure is null)
        {
            _session.Incoming.Complete(delivery, null);
            return;
        }

        if (_session.Options.HandlerMaxAttempts is { } maxAttempts && delivery.Attempts >= maxAttempts)
        {
            _session.Incoming.Complete(delivery, (DeadLetterReason.HandlerFailed, failure.ToString()));
            return;
        }

        TimeSpan delay = _session.Options.HandlerRetryBackoff.GetDelay(delivery.Attempts);
        ClientLog.HandlerFailed(_session.Logger, failure, delivery.Message.Topic, delivery.Attempts, delay);
        RetryLater(delivery, delay);
    }

    private void RetryLater(Delivery delivery, TimeSpan delay) => Track(RetryAsync(delivery, delay));

    private async Task RetryAsync(Delivery delivery, TimeSpan delay)
    {
        await Task.Delay(delay, Stopping).ConfigureAwait(false);
        Enqueue(delivery);
    }

    /// <summary>Keeps a message that no subscription matches until one does. Under the session lock.</summary>
    private void Park(Delivery delivery)
    {
        if (delivery.ParkedAtMs == 0)
        {
            delivery.ParkedAtMs = Environment.TickCount64;
        }

        if (_parked.Count == 0)
        {
            _firstParked?.TrySetResult(); // runs the sweep's continuation elsewhere, not under this lock
            _firstParked = null;
        }

        _parked.Add(delivery);
    }

    /// <summary>
    /// Dead-letters the messages that waited too long for a subscription. Sleeps without a timer while
    /// none waits: an idle client should not wake its process (issue 14).
    /// </summary>
    private async Task SweepParkedAsync()
    {
        TimeSpan timeout = _session.Options.UnhandledMessageTimeout;
        TimeSpan period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 50, 5000));
        var expired = new List<Delivery>();
        try
        {
            while (true)
            {
                Task somethingParked;
                lock (_session.Gate)
                {
                    somethingParked = _parked.Count > 0
                        ? Task.CompletedTask
                        : (_firstParked ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }

                await somethingParked.WaitAsync(Stopping).ConfigureAwait(false);
                await Task.Delay(period, Stopping).ConfigureAwait(false);
                long now = Environment.TickCount64;
                lock (_session.Gate)
                {
                    _parked.RemoveAll(delivery =>
                    {
                        bool old = now - delivery.ParkedAtMs >= timeout.TotalMilliseconds;
                        if (old)
                        {
                            expired.Add(delivery);
                        }

                        return old;
                    });
                }

                foreach (Delivery delivery in expired)
                {
                    _session.Incoming.Complete(delivery, (DeadLetterReason.NoHandler, $"No subscription of this client matched the topic within {timeout}."));
                }

                expired.Clear();
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Track(Task task)
    {
        lock (_background)
        {
            if (task.IsCompleted)
            {
                return;
            }

            _background.Add(task);
        }

        _ = task.ContinueWith(
            finished =>
            {
                lock (_background)
                {
                    _background.Remove(finished);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
