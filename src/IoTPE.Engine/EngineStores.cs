using IoTPE.Engine.Accounts;
using IoTPE.Engine.Scripts;

namespace IoTPE.Engine;

/// <summary>The engine's storage ports: SQLite on the edge, MySQL on the central engine.</summary>
/// <param name="Accounts">Accounts and grants.</param>
/// <param name="Scripts">Stored scripts, their versions and schedules.</param>
/// <param name="KeyValues">The accounts' <c>kv</c> entries.</param>
/// <param name="Databases">The accounts' own SQL databases (<c>db</c>).</param>
/// <param name="RunAttempts">Marks of recovered runs and quarantined requests; without it nothing is quarantined.</param>
/// <param name="PasswordCheck">How a CONNECT's password is checked; null: against the account's stored hash (<see cref="Security.HashedPasswordCheck"/>).</param>
public sealed record EngineStores(IAccountStore Accounts, IScriptStore Scripts, IKeyValueStore KeyValues, IAccountDatabases Databases,
    IRunAttemptStore? RunAttempts = null, Security.IPasswordCheck? PasswordCheck = null);
