namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>
/// Tests that measure time or kill processes: run them alone, so that the other tests of this
/// assembly running in parallel on a 2-core machine neither skew the figures nor starve the helper.
/// </summary>
[CollectionDefinition(nameof(TimingSensitiveCollection), DisableParallelization = true)]
public sealed class TimingSensitiveCollection;
