using IoTPE.Broker;
using IoTPE.Engine.Security;

namespace IoTPE.Engine.Accounts;

/// <summary>
/// The broker's retained-message quota per account namespace: the retained messages of
/// <c>/&lt;account&gt;</c> and every topic below it may take <paramref name="maxBytesPerAccount"/> bytes
/// (topics and payloads) together. It holds for every name an account may have, whether or not that
/// account exists yet, so nobody can park unlimited retained data in a future account's namespace.
/// </summary>
internal sealed class AccountRetainedQuota(long maxBytesPerAccount) : IRetainedQuota
{
    public bool TryGetLimit(string topicName, out string namespaceTopic, out long maxBytes)
    {
        if (TopicNamespace.OwnerOf(topicName) is { } owner && AccountName.IsValid(owner))
        {
            namespaceTopic = "/" + owner;
            maxBytes = maxBytesPerAccount;
            return true;
        }
        namespaceTopic = string.Empty;
        maxBytes = 0;
        return false;
    }
}
