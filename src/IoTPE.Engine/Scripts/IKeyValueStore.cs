namespace IoTPE.Engine.Scripts;

/// <summary>The small key-value store of each account that scripts reach through <c>kv</c>. Values are JSON text.</summary>
public interface IKeyValueStore
{
    /// <summary>The JSON value stored under <paramref name="key"/>, or null.</summary>
    string? Get(string account, string key);

    /// <summary>Stores a JSON value; returns false when the account already has <paramref name="maxKeys"/> other keys.</summary>
    bool Set(string account, string key, string json, int maxKeys);

    /// <summary>Removes a key; returns whether it existed.</summary>
    bool Remove(string account, string key);
}
