namespace IoTPE.Edge.Commands;

/// <summary>
/// Reads a password the safe ways only: from a terminal prompt without echo, or one line from
/// standard input with <c>--password-stdin</c>. Never from the command line, where it would end up
/// in the shell history and in <c>ps</c>.
/// </summary>
internal static class PasswordInput
{
    /// <summary>Reads the password; returns null with a message in <paramref name="error"/> when it cannot.</summary>
    public static string? Read(bool fromStandardInput, bool confirm, TextWriter prompt, out string? error)
    {
        error = null;
        if (fromStandardInput)
        {
            string? line = Console.In.ReadLine();
            if (string.IsNullOrEmpty(line))
            {
                error = "no password on standard input";
                return null;
            }
            return line;
        }
        if (Console.IsInputRedirected)
        {
            error = "standard input is not a terminal: pipe the password with --password-stdin";
            return null;
        }
        string first = Prompt(prompt, "Password: ");
        if (first.Length == 0)
        {
            error = "the password cannot be empty";
            return null;
        }
        if (confirm && Prompt(prompt, "Repeat password: ") != first)
        {
            error = "the passwords do not match";
            return null;
        }
        return first;
    }

    private static string Prompt(TextWriter prompt, string text)
    {
        prompt.Write(text);
        var password = new System.Text.StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                prompt.WriteLine();
                return password.ToString();
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (password.Length > 0)
                {
                    password.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
    }
}
