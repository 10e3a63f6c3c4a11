namespace IoTPE.Broker;

/// <summary>What the broker holds for a user, removed when the user's account goes away.</summary>
public interface IUserDataRemoval
{
    /// <summary>
    /// Removes the sessions of the clients that logged in as <paramref name="userName"/> (connected
    /// ones are disconnected) and the retained messages of <paramref name="namespaceTopic"/> and below;
    /// completes once that is durable.
    /// </summary>
    /// <exception cref="IOException">The store could not commit the removal (the task faults).</exception>
    Task<(int Sessions, int Retained)> RemoveUserDataAsync(string userName, string namespaceTopic);
}
