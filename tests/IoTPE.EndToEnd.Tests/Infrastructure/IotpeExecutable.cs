namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>How tests start <c>iotpe</c>: a program, the arguments before iotpe's own, and how long start-up may take.</summary>
/// <param name="FileName">The program to execute.</param>
/// <param name="PrefixArguments">Arguments before iotpe's (qemu's options and the binary).</param>
/// <param name="StartTimeout">How long the process may take to listen, or a command to finish.</param>
internal sealed record IotpeExecutable(string FileName, IReadOnlyList<string> PrefixArguments, TimeSpan StartTimeout)
{
    /// <summary>The published binary of this machine's RID, run directly.</summary>
    public static IotpeExecutable Native => new(IotpeBinary.Path, [], TimeSpan.FromSeconds(30));
}
