namespace IoTPE.Engine.Tests;

/// <summary>
/// Tests that measure how long one account waits for another run alone: other test classes of this
/// assembly, which xunit runs in parallel by default, would take the two cores they measure on.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTimingCollection
{
    public const string Name = "serial timing";
}
