using System.Diagnostics.CodeAnalysis;
using IoTPE.Engine.Accounts;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Script names: they are a topic level (<c>/&lt;account&gt;/run/&lt;name&gt;</c>) and a file name
/// (<c>&lt;name&gt;.js</c>), so the account-name rules apply — which also means no name can leave the
/// script folder (no <c>/</c>, no <c>..</c>, no leading <c>.</c>).
/// </summary>
public static class ScriptName
{
    /// <summary>Whether <paramref name="name"/> is a valid script name, and if not, why.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name, [NotNullWhen(false)] out string? problem)
    {
        if (!AccountName.IsValid(name, out problem))
        {
            problem = problem.Replace("an account name", "a script name", StringComparison.Ordinal);
            return false;
        }
        if (name.Contains("..", StringComparison.Ordinal))
        {
            problem = "a script name cannot contain '..'";
            return false;
        }
        return true;
    }
}
