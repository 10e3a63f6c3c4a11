namespace IoTPE.Engine.Scripts;

/// <summary>One version of an account's stored script.</summary>
/// <param name="Account">The owning account.</param>
/// <param name="Name">The script name (the last level of <c>/&lt;account&gt;/run/&lt;name&gt;</c>).</param>
/// <param name="Version">1 for the first load, then one more per load.</param>
/// <param name="Text">The JavaScript source.</param>
/// <param name="CreatedAt">When this version was loaded.</param>
public sealed record StoredScript(string Account, string Name, int Version, string Text, DateTimeOffset CreatedAt)
{
    /// <summary>The key the script runtime caches this exact version under.</summary>
    public string RuntimeKey => Name + "@" + Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
