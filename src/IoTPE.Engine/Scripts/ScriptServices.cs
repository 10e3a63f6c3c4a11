using IoTPE.Broker;
using IoTPE.Broker.Security;
using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Scripts;

/// <summary>What a script's host calls and the dispatcher reach: the broker (only through its port), the authorizer, the account's storage, the log and the clock.</summary>
internal sealed record ScriptServices(
    IBrokerPort Broker,
    Accounts.AccountDirectory AccountDirectory,
    IAuthorizer Authorizer,
    IKeyValueStore KeyValues,
    IAccountDatabases Databases,
    EngineOptions Options,
    ILogger Log)
{
    /// <summary>Run requests each account has queued, for the check of a script's publish to a run topic; null: unchecked.</summary>
    public RunQueueCounts? RunQueues { get; init; }

    /// <summary>The gateway's pins for <c>gpio.read</c>/<c>gpio.write</c>; null: the gateway has none.</summary>
    public IScriptPins? Pins { get; init; }

    /// <summary>The engine's clock (retry delays, quarantine times).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The current accounts.</summary>
    public Accounts.AccountSnapshot Accounts => AccountDirectory.Current;
}
