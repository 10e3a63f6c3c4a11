namespace IoTPE.Broker.Storage.MySql;

/// <summary>A <c>WhenDurable</c> callback of the batch being applied, with the outcome it will be told.</summary>
/// <param name="Callback">The broker's callback.</param>
/// <param name="Durable">True when every write it covers committed.</param>
internal readonly record struct PendingCallback(Action<bool> Callback, bool Durable);
