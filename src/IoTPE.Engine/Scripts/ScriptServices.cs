using IoTPE.Broker.Security;
using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Scripts;

/// <summary>What a script's host calls reach: the broker, the authorizer, the account's storage and the log.</summary>
internal sealed record ScriptServices(
    Broker.Broker Broker,
    Accounts.AccountDirectory AccountDirectory,
    IAuthorizer Authorizer,
    IKeyValueStore KeyValues,
    IAccountDatabases Databases,
    EngineOptions Options,
    ILogger Log)
{
    /// <summary>Run requests each account has queued, for the check of a script's publish to a run topic; null: unchecked.</summary>
    public RunQueueCounts? RunQueues { get; init; }

    /// <summary>The current accounts.</summary>
    public Accounts.AccountSnapshot Accounts => AccountDirectory.Current;
}
