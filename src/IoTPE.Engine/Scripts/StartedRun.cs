using IoTPE.Broker;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>A request handed to the script workers, as its account's consumer holds it until its outcome is published.</summary>
/// <param name="Delivery">The request, acknowledged once its outcome is published.</param>
/// <param name="Request">Where the outcome goes.</param>
/// <param name="Recovered">It was recovered after an unclean stop (it holds the engine's recovery slot).</param>
/// <param name="Run">The run.</param>
/// <param name="Call">The command call it serves; null for a run request.</param>
/// <param name="Cancellation">Cancels the call's run (<c>/cancel</c>); null for a run request.</param>
internal sealed record StartedRun(InternalDelivery Delivery, RunRequest Request, bool Recovered, Task<ScriptRunResult> Run,
    CommandCall? Call = null, CancellationTokenSource? Cancellation = null);
