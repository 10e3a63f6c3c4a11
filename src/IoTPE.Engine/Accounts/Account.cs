namespace IoTPE.Engine.Accounts;

/// <summary>An account: it owns the topic namespace <c>/&lt;Name&gt;/...</c>, its scripts and its database.</summary>
/// <param name="Name">The account name (see <see cref="AccountName"/>); also its MQTT user name.</param>
/// <param name="PasswordHash">The password as <see cref="PasswordHasher"/> stores it.</param>
/// <param name="CreatedAt">When the account was created.</param>
public sealed record Account(string Name, string PasswordHash, DateTimeOffset CreatedAt);
