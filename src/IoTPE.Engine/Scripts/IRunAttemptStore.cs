namespace IoTPE.Engine.Scripts;

/// <summary>
/// Durable marks of run requests that started after a restart and have not finished, and the
/// requests quarantined because of them. Only requests recovered after the process stopped
/// without finishing them are marked, so a run on the normal path costs no write here.
/// </summary>
public interface IRunAttemptStore
{
    /// <summary>
    /// Marks the start of a run of the stored request <paramref name="requestId"/> and returns how
    /// many earlier starts were marked and never finished (each means the process died during it).
    /// Durable when it returns.
    /// </summary>
    int MarkStarted(long requestId);

    /// <summary>The run of <paramref name="requestId"/> ended (or the request was quarantined): its marks go.</summary>
    void MarkFinished(long requestId);

    /// <summary>Drops the marks of every request except <paramref name="keep"/> (the ones still queued at start-up).</summary>
    void ForgetAllExcept(IReadOnlyCollection<long> keep);

    /// <summary>Records a quarantined request so that <c>iotpe script list</c> can show it.</summary>
    void AddQuarantined(QuarantinedRun run);

    /// <summary>The quarantined requests of <paramref name="account"/>, oldest first.</summary>
    IReadOnlyList<QuarantinedRun> Quarantined(string account);
}

/// <summary>A run request that was running when the process died twice, and will not run again.</summary>
/// <param name="Account">The account whose namespace the request topic is in.</param>
/// <param name="Topic">The request topic, e.g. <c>/alice/run/report</c>.</param>
/// <param name="At">When it was quarantined.</param>
public sealed record QuarantinedRun(string Account, string Topic, DateTimeOffset At);
