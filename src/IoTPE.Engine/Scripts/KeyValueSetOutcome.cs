namespace IoTPE.Engine.Scripts;

/// <summary>What <see cref="IKeyValueStore.Set"/> did.</summary>
public enum KeyValueSetOutcome
{
    /// <summary>The value is stored.</summary>
    Stored,

    /// <summary>Nothing stored: the key is new and the account already has its quota's number of keys.</summary>
    TooManyKeys,

    /// <summary>Nothing stored: the account's entries would take more bytes than its quota.</summary>
    TooManyBytes,

    /// <summary>Nothing stored: there is no such account (it was removed).</summary>
    NoSuchAccount,
}
