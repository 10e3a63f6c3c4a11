using System.CommandLine;

namespace IoTPE.Edge.Commands;

/// <summary>The <c>--data DIR</c> option shared by every command that works on the data folder.</summary>
internal static class DataFolderOption
{
    public const string Default = "./data";

    public static Option<string> Create() => new("--data")
    {
        Description = "Data folder (SQLite databases, scripts). Default: " + Default,
        DefaultValueFactory = _ => Default,
    };
}
