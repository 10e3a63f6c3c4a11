using System.CommandLine;
using IoTPE.Engine.Accounts;
using IoTPE.Storage.Sqlite;

namespace IoTPE.Edge.Commands;

/// <summary>
/// <c>iotpe account add|passwd|remove|list</c> and <c>iotpe grant list</c>: manage the accounts of a
/// data folder. A running <c>iotpe run</c> on the same folder picks changes up within a second.
/// </summary>
internal static class AccountCommands
{
    public static Command BuildAccount()
    {
        var account = new Command("account", "Manage accounts: each owns the topic namespace /<account>/..., its scripts and its database.");
        account.Subcommands.Add(BuildAdd());
        account.Subcommands.Add(BuildPasswd());
        account.Subcommands.Add(BuildRemove());
        account.Subcommands.Add(BuildList());
        return account;
    }

    public static Command BuildGrant()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string>("ACCOUNT") { Description = "The account whose grants to show (given and received)." };
        var list = new Command("list", "Show the grants an account gave and received.") { name, data };
        list.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
            var store = new SqliteAccountStore(database);
            (IReadOnlyList<Account> accounts, IReadOnlyList<Grant> grants) = store.LoadAll();
            if (!accounts.Any(a => a.Name == accountName))
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no account '{accountName}'");
                return 1;
            }
            TextWriter output = parseResult.InvocationConfiguration.Output;
            output.WriteLine($"Given by {accountName}:");
            foreach (Grant grant in grants.Where(g => g.Owner == accountName))
            {
                output.WriteLine($"  {Verb(grant.Kind),-9} {grant.AbsoluteFilter,-40} to {grant.Grantee}");
            }
            output.WriteLine($"Received by {accountName}:");
            foreach (Grant grant in grants.Where(g => g.Grantee == accountName))
            {
                output.WriteLine($"  {Verb(grant.Kind),-9} {grant.AbsoluteFilter,-40} from {grant.Owner}");
            }
            return 0;
        });
        var grant = new Command("grant", "Inspect grants (accounts change them by publishing to /<account>/grant_sub_topic and friends).");
        grant.Subcommands.Add(list);
        return grant;
    }

    private static string Verb(GrantKind kind) => kind == GrantKind.Publish ? "publish" : "subscribe";

    private static Command BuildAdd()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string>("NAME") { Description = "The account name: ASCII letters, digits, '_', '-', '.' (it becomes a topic level)." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input instead of a prompt." };
        var add = new Command("add", "Create an account.") { name, data, passwordStdin };
        add.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (!AccountName.IsValid(accountName, out string? problem))
            {
                error.WriteLine($"iotpe: invalid account name: {problem}");
                return 1;
            }
            return WithNewPassword(parseResult, passwordStdin, data,
                (store, hash) => store.AddAccount(new Account(accountName, hash, DateTimeOffset.UtcNow)),
                $"account {accountName} created", $"account '{accountName}' already exists");
        });
        return add;
    }

    private static Command BuildPasswd()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string>("NAME") { Description = "The account." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the new password from standard input instead of a prompt." };
        var passwd = new Command("passwd", "Set an account's password.") { name, data, passwordStdin };
        passwd.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            return WithNewPassword(parseResult, passwordStdin, data,
                (store, hash) => store.SetPasswordHash(accountName, hash),
                $"password of {accountName} changed", $"no account '{accountName}'");
        });
        return passwd;
    }

    private static Command BuildRemove()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string>("NAME") { Description = "The account." };
        var remove = new Command("remove", "Delete an account and every grant it gave or received.") { name, data };
        remove.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
            var store = new SqliteAccountStore(database);
            if (!store.RemoveAccount(accountName))
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no account '{accountName}'");
                return 1;
            }
            parseResult.InvocationConfiguration.Output.WriteLine($"account {accountName} removed");
            return 0;
        });
        return remove;
    }

    private static Command BuildList()
    {
        var data = DataFolderOption.Create();
        var list = new Command("list", "List the accounts.") { data };
        list.SetAction(parseResult =>
        {
            using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
            var store = new SqliteAccountStore(database);
            foreach (Account account in store.LoadAll().Accounts)
            {
                parseResult.InvocationConfiguration.Output.WriteLine($"{account.Name}\tcreated {account.CreatedAt:yyyy-MM-dd HH:mm}Z");
            }
            return 0;
        });
        return list;
    }

    /// <summary>Reads a new password (prompt or standard input), hashes it and stores it with <paramref name="apply"/>.</summary>
    private static int WithNewPassword(ParseResult parseResult, Option<bool> passwordStdin, Option<string> data,
        Func<SqliteAccountStore, string, bool> apply, string done, string failed)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string? password = PasswordInput.Read(parseResult.GetValue(passwordStdin), confirm: true, error, out string? inputError);
        if (password is null)
        {
            error.WriteLine("iotpe: " + inputError);
            return 1;
        }
        using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
        if (!apply(new SqliteAccountStore(database), PasswordHasher.Hash(password)))
        {
            error.WriteLine("iotpe: " + failed);
            return 1;
        }
        WarnIfWeak(password, error);
        parseResult.InvocationConfiguration.Output.WriteLine(done);
        return 0;
    }

    private static void WarnIfWeak(string password, TextWriter error)
    {
        if (password.Length < 8)
        {
            error.WriteLine("iotpe: warning: a password shorter than 8 characters is easy to guess");
        }
    }
}
