using System.CommandLine;
using System.Globalization;
using IoTPE.Broker;
using IoTPE.Engine.Accounts;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.Engine.Storage.MySql;

namespace IoTPE.Edge.Commands;

/// <summary>
/// <c>iotpe account add|passwd|remove|list</c> and <c>iotpe grant list</c>: manage the accounts of a
/// data folder, or with <c>--mysql</c> of a central engine's MySQL/MariaDB server (accounts are its
/// users). A running <c>iotpe run</c> on the same folder or server picks changes up within a second.
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
        var mysql = MySqlOption.Create();
        var list = new Command("list", "Show the grants an account gave and received.") { name, data, mysql };
        list.SetAction(parseResult => MySqlOption.Guard(parseResult, () =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            (IReadOnlyList<Account> accounts, IReadOnlyList<Grant> grants) = LoadAll(parseResult, data, mysql);
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
        }));
        var grant = new Command("grant", "Inspect grants (accounts change them by publishing to /<account>/grant_sub_topic and friends).");
        grant.Subcommands.Add(list);
        return grant;
    }

    private static (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll(ParseResult parseResult, Option<string> data, Option<string?> mysql)
    {
        if (parseResult.GetValue(mysql) is { } connectionString)
        {
            return new MySqlAccountStore(new MySqlServiceDatabase(connectionString)).LoadAll();
        }
        using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
        return new SqliteAccountStore(database).LoadAll();
    }

    private static string Verb(GrantKind kind) => kind == GrantKind.Publish ? "publish" : "subscribe";

    private static Command BuildAdd()
    {
        var data = DataFolderOption.Create();
        var name = new Argument<string>("NAME") { Description = "The account name: ASCII letters, digits, '_', '-', '.' (it becomes a topic level)." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input instead of a prompt." };
        var mysql = MySqlOption.Create();
        var add = new Command("add", "Create an account (with --mysql: a database user with its own database, 'NAME'@'%' and 'NAME'@'localhost').") { name, data, passwordStdin, mysql };
        add.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (!AccountName.IsValid(accountName, out string? problem))
            {
                error.WriteLine($"iotpe: invalid account name: {problem}");
                return 1;
            }
            if (parseResult.GetValue(mysql) is { } connectionString)
            {
                return WithNewMySqlPassword(parseResult, passwordStdin, connectionString, (store, password) =>
                {
                    if (store.Remains(accountName).Where(r => r != "a database").ToList() is { Count: > 0 } remains && !store.LoadAll().Accounts.Any(a => a.Name == accountName))
                    {
                        error.WriteLine($"iotpe: account '{accountName}' cannot be created yet: {string.Join(", ", remains)} (the running iotpe removes them; try again in a few seconds)");
                        return 1;
                    }
                    if (!store.CreateAccount(accountName, password))
                    {
                        error.WriteLine($"iotpe: account '{accountName}' already exists (a user or a database of that name)");
                        return 1;
                    }
                    parseResult.InvocationConfiguration.Output.WriteLine($"account {accountName} created");
                    return 0;
                });
            }
            if (FinishEarlierRemoval(parseResult.GetRequiredValue(data), accountName) is { } remains)
            {
                error.WriteLine($"iotpe: account '{accountName}' cannot be created yet: {remains}");
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
        var mysql = MySqlOption.Create();
        var passwd = new Command("passwd", "Set an account's password.") { name, data, passwordStdin, mysql };
        passwd.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            if (parseResult.GetValue(mysql) is { } connectionString)
            {
                return WithNewMySqlPassword(parseResult, passwordStdin, connectionString, (store, password) =>
                {
                    if (!store.SetPassword(accountName, password))
                    {
                        parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no account '{accountName}'");
                        return 1;
                    }
                    parseResult.InvocationConfiguration.Output.WriteLine($"password of {accountName} changed");
                    return 0;
                });
            }
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
        var remove = new Command("remove",
            "Delete an account with its grants given and received, kv entries, scripts, sessions, retained messages under /<account>/ and database; " +
            "its script files are moved to <data>/scripts/.removed/.")
        {
            name, data,
        };
        var mysql = MySqlOption.Create();
        remove.Options.Add(mysql);
        remove.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(name);
            string dataFolder = parseResult.GetRequiredValue(data);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            if (parseResult.GetValue(mysql) is { } connectionString)
            {
                return MySqlOption.Guard(parseResult, () =>
                {
                    var service = new MySqlServiceDatabase(connectionString);
                    if (!new MySqlAccountStore(service).RemoveAccount(accountName))
                    {
                        parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no account '{accountName}'");
                        return 1;
                    }
                    // The users went at once; the database goes now too. Sessions and retained messages are
                    // the broker's: the running iotpe (or the next one started) removes them and ends the removal.
                    new MySqlAccountDatabases(service).Delete(accountName);
                    output.WriteLine($"account {accountName} removed");
                    output.WriteLine("the running iotpe removes its sessions and retained messages within seconds");
                    return 0;
                });
            }
            using (var database = new SqliteEngineDatabase(dataFolder))
            {
                if (!new SqliteAccountStore(database).RemoveAccount(accountName))
                {
                    parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no account '{accountName}'");
                    return 1;
                }
            }
            output.WriteLine($"account {accountName} removed");
            if (MoveScriptFiles(dataFolder, accountName) is { } movedTo)
            {
                output.WriteLine($"its script files were moved to {movedTo}");
            }
            if (FinishEarlierRemoval(dataFolder, accountName) is not null)
            {
                output.WriteLine($"the running iotpe removes its sessions, retained messages and database within seconds");
            }
            return 0;
        });
        return remove;
    }

    /// <summary>
    /// Script files are the operator's, so they are not deleted; moved out of the account's folder,
    /// they are kept but no longer run (a name starting with '.' is never an account) and a new
    /// account of the same name does not inherit them.
    /// </summary>
    private static string? MoveScriptFiles(string dataFolder, string accountName)
    {
        string folder = Path.Combine(Path.GetFullPath(dataFolder), "scripts", accountName);
        if (!Directory.Exists(folder))
        {
            return null;
        }
        string removed = Path.Combine(Path.GetFullPath(dataFolder), "scripts", ".removed");
        Directory.CreateDirectory(removed);
        string target = Path.Combine(removed, accountName + "-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.Move(folder, target);
        return target;
    }

    /// <summary>
    /// Removes what remains of an account called <paramref name="accountName"/> that no longer exists:
    /// when no <c>iotpe run</c> holds the data folder, at once (the broker's sessions and retained
    /// messages in broker.db, the database folder, what engine.db still holds); otherwise that is
    /// the running engine's work. Returns null when nothing remains, or what remains, for a person.
    /// </summary>
    private static string? FinishEarlierRemoval(string dataFolder, string accountName)
    {
        string full = Path.GetFullPath(dataFolder);
        using var database = new SqliteEngineDatabase(full);
        var store = new SqliteAccountStore(database);
        var remains = new List<string>(store.Remains(accountName));
        string databaseFolder = Path.Combine(full, "accounts", accountName);
        if (Directory.Exists(databaseFolder))
        {
            remains.Add("its database folder " + databaseFolder);
        }
        if (remains.Count == 0 || store.LoadAll().Accounts.Any(a => a.Name == accountName))
        {
            return null;
        }
        SqliteBrokerStore brokerStore;
        try
        {
            brokerStore = new SqliteBrokerStore(full);
        }
        catch (IOException)
        {
            // iotpe runs on this folder: its engine finishes pending removals within seconds.
            remains.Add($"its sessions and the retained messages under /{accountName}/ in the running broker");
            bool pending = store.PendingRemovals().Contains(accountName);
            return string.Join(", ", remains) + (pending
                ? " (the running iotpe is removing them; try again in a few seconds)"
                : " (left by an older release: stop iotpe and run this command again to remove them)");
        }
        FinishWithBroker(brokerStore, store, full, accountName).GetAwaiter().GetResult();
        return null;
    }

    private static async Task FinishWithBroker(SqliteBrokerStore brokerStore, SqliteAccountStore store, string dataFolder, string accountName)
    {
        await using (brokerStore.ConfigureAwait(false))
        {
            var broker = new Broker.Broker(new BrokerOptions(), brokerStore);
            await using (broker.ConfigureAwait(false))
            {
                broker.LoadState();
                using var databases = new SqliteAccountDatabases(dataFolder);
                await AccountRemoval.FinishAsync(accountName, broker, store, databases).ConfigureAwait(false);
            }
        }
    }

    private static Command BuildList()
    {
        var data = DataFolderOption.Create();
        var mysql = MySqlOption.Create();
        var list = new Command("list", "List the accounts.") { data, mysql };
        list.SetAction(parseResult => MySqlOption.Guard(parseResult, () =>
        {
            foreach (Account account in LoadAll(parseResult, data, mysql).Accounts)
            {
                parseResult.InvocationConfiguration.Output.WriteLine($"{account.Name}\tcreated {account.CreatedAt:yyyy-MM-dd HH:mm}Z");
            }
            return 0;
        }));
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

    /// <summary>Reads a new password (prompt or standard input) and gives it to <paramref name="apply"/> with the server's account store.</summary>
    private static int WithNewMySqlPassword(ParseResult parseResult, Option<bool> passwordStdin, string connectionString, Func<MySqlAccountStore, string, int> apply)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        string? password = PasswordInput.Read(parseResult.GetValue(passwordStdin), confirm: true, error, out string? inputError);
        if (password is null)
        {
            error.WriteLine("iotpe: " + inputError);
            return 1;
        }
        return MySqlOption.Guard(parseResult, () =>
        {
            int result = apply(new MySqlAccountStore(new MySqlServiceDatabase(connectionString)), password);
            if (result == 0)
            {
                WarnIfWeak(password, error);
            }
            return result;
        });
    }

    private static void WarnIfWeak(string password, TextWriter error)
    {
        if (password.Length < 8)
        {
            error.WriteLine("iotpe: warning: a password shorter than 8 characters is easy to guess");
        }
    }
}
