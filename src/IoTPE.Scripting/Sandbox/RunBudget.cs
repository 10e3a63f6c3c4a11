using System.Diagnostics;
using Jint;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// The wall-clock budget of one run and its interrupt switch, checked by the engine between
/// statements. One budget covers the whole run (the call, promise jobs, the result's toJSON),
/// unlike Jint's TimeoutInterval, which rearms at each entry into the engine.
/// </summary>
/// <remarks>
/// Failing throws a CLR exception (<see cref="TimeoutException"/>), which JavaScript's try/catch
/// cannot catch, so a script that catches errors cannot keep running past its budget; and once
/// the budget is spent every further check fails until the run has unwound.
/// </remarks>
internal sealed class RunBudget : Constraint
{
    private const long Disarmed = 0;
    private long _deadline;
    private int _interruptRequested;

    /// <summary>Checking less often only delays noticing the deadline: keeps Jint's fast loop paths on.</summary>
    public override bool IsAmortizable => true;

    /// <summary>Whether the current (or last) run was stopped by <see cref="RequestInterrupt"/>.</summary>
    public bool Interrupted => Volatile.Read(ref _interruptRequested) != 0;

    /// <summary>Whether the deadline of the current run has passed.</summary>
    public bool Expired => _deadline != Disarmed && Stopwatch.GetTimestamp() >= _deadline;

    /// <summary>Arms the budget for one run that may last <paramref name="budget"/>.</summary>
    public void Begin(TimeSpan budget)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(budget.Ticks * ((double)Stopwatch.Frequency / TimeSpan.TicksPerSecond));
        _deadline = deadline == Disarmed ? 1 : deadline;
    }

    /// <summary>Disarms the budget once the run is over.</summary>
    public void End() => _deadline = Disarmed;

    /// <summary>Stops the run in progress (or the next one) as if its budget ran out. Any thread.</summary>
    public void RequestInterrupt() => Volatile.Write(ref _interruptRequested, 1);

    /// <summary>Withdraws an interrupt request.</summary>
    public void ClearInterrupt() => Volatile.Write(ref _interruptRequested, 0);

    public override void Check()
    {
        if (_deadline == Disarmed)
        {
            return;
        }
        if (Volatile.Read(ref _interruptRequested) != 0)
        {
            throw new OperationCanceledException("The script run was interrupted.");
        }
        if (Stopwatch.GetTimestamp() >= _deadline)
        {
            throw new TimeoutException("The script ran out of its time budget.");
        }
    }

    /// <summary>Deliberately nothing: the engine resets constraints at each entry, and this budget spans the run.</summary>
    public override void Reset()
    {
    }
}
