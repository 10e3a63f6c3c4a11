namespace IoTPE.Engine.Scripts;

/// <summary>
/// Script files for <c>/&lt;account&gt;/runfile/&lt;name&gt;</c>: <c>&lt;folder&gt;/&lt;account&gt;/&lt;name&gt;.js</c>. A name that
/// could leave the account's folder is refused, and the resolved path is checked again to be sure.
/// </summary>
internal sealed class ScriptFiles(string folder)
{
    private readonly string _root = Path.GetFullPath(folder);

    /// <summary>Reads an account's script file; returns null with the reason when it cannot.</summary>
    public (string Text, string Version)? Read(string account, string name, out string? problem)
    {
        if (!ScriptName.IsValid(name, out problem))
        {
            return null;
        }
        string accountFolder = Path.Combine(_root, account) + Path.DirectorySeparatorChar;
        string path = Path.GetFullPath(Path.Combine(accountFolder, name + ".js"));
        if (!path.StartsWith(accountFolder, StringComparison.Ordinal))
        {
            problem = "the script file is outside the account's script folder";
            return null;
        }
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                problem = $"no script file {name}.js in the account's script folder";
                return null;
            }
            string text = File.ReadAllText(path);
            // The runtime caches compiled scripts by key: a changed file gets a new key.
            return (text, info.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + text.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = "cannot read the script file: " + e.Message;
            return null;
        }
    }
}
