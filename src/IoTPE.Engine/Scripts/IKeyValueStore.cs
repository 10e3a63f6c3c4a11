namespace IoTPE.Engine.Scripts;

/// <summary>The small key-value store of each account that scripts reach through <c>kv</c>. Values are JSON text.</summary>
public interface IKeyValueStore
{
    /// <summary>The JSON value stored under <paramref name="key"/>, or null.</summary>
    string? Get(string account, string key);

    /// <summary>
    /// Stores a JSON value, unless the account would then have more keys or bytes (UTF-8 keys and
    /// values) than <paramref name="quota"/> allows; replacing a value with a smaller one is always allowed.
    /// </summary>
    KeyValueSetOutcome Set(string account, string key, string json, KeyValueQuota quota);

    /// <summary>Removes a key; returns whether it existed.</summary>
    bool Remove(string account, string key);

    /// <summary>The keys and bytes the account's entries take.</summary>
    (long Keys, long Bytes) Usage(string account);
}
