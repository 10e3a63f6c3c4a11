using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Engine.Accounts;

/// <summary>
/// The rules for account names. A name becomes a topic level (<c>/&lt;account&gt;/...</c>), a MQTT user
/// name and a folder name, so it is kept to what is safe in all three: 1 to 64 ASCII letters,
/// digits, <c>_</c>, <c>-</c> and <c>.</c>, not starting with <c>.</c> or <c>-</c>.
/// </summary>
public static class AccountName
{
    /// <summary>Longest name accepted.</summary>
    public const int MaxLength = 64;

    /// <summary>Returns whether <paramref name="name"/> is a valid account name, and if not, why.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name, [NotNullWhen(false)] out string? problem)
    {
        if (string.IsNullOrEmpty(name))
        {
            problem = "an account name cannot be empty";
            return false;
        }
        if (name.Length > MaxLength)
        {
            problem = $"an account name has at most {MaxLength} characters";
            return false;
        }
        if (name[0] is '.' or '-')
        {
            problem = "an account name cannot start with '.' or '-'";
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                problem = $"an account name may contain only ASCII letters, digits, '_', '-' and '.' (found '{(char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c)}')";
                return false;
            }
        }
        problem = null;
        return true;
    }

    /// <summary>Returns whether <paramref name="name"/> is a valid account name.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) => IsValid(name, out _);
}
