namespace IoTPE.Client.Storage;

/// <summary>
/// One unit of work for the state file: it runs inside the writer's current transaction (under its own savepoint, so
/// its failure spares the rest of the batch), and <see cref="Completed"/> runs on the writer thread, in submission
/// order, once the batch is committed — with the error if the unit or the commit failed.
/// </summary>
/// <param name="Execute">The writes (and reads) to do; throws to fail the unit.</param>
/// <param name="Completed">Called after the commit with null, or with the error; must be quick and must not throw.</param>
internal sealed record StoreWork(Action<StateDatabase> Execute, Action<Exception?>? Completed)
{
    /// <summary>
    /// The unit cannot fail halfway, so it runs without the savepoint (two statements less on the hot paths of a
    /// publish): it makes at most one change that can fail alone (a constraint, which SQLite undoes by itself, statement
    /// by statement), and its other statements are reads or changes that no constraint can refuse (any other failure
    /// fails the whole batch anyway).
    /// </summary>
    public bool WithoutSavepoint { get; init; }

    /// <summary>
    /// Nobody waits for the unit's commit (e.g. deleting a publish the broker acknowledged, whose caller already knows):
    /// it does not start a group commit by itself but rides on the next one, or waits at most
    /// <see cref="StateStore.DeferredWaitMs"/>, so acknowledgements cost no fsync of their own.
    /// </summary>
    public bool Deferrable { get; init; }
}
