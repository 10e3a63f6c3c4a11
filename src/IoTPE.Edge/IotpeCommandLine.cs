using System.CommandLine;
using IoTPE.Edge.Commands;

namespace IoTPE.Edge;

/// <summary>The <c>iotpe</c> command tree.</summary>
internal static class IotpeCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("IoTPE, the IoT Process Engine: an MQTT broker with a sandboxed JavaScript rules engine and SQLite persistence.");
        foreach (Option option in root.Options)
        {
            if (option is VersionOption versionOption)
            {
                versionOption.Action = new VersionAction();
            }
        }
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(AccountCommands.BuildAccount());
        root.Subcommands.Add(AccountCommands.BuildGrant());
        root.Subcommands.Add(ScriptCommands.Build());
        root.Subcommands.Add(BridgeCommands.Build());
        return root;
    }
}
