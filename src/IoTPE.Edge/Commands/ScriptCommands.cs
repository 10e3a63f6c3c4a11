using System.CommandLine;
using System.Globalization;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Scripts;
using IoTPE.Scripting;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.Engine.Storage.MySql;

namespace IoTPE.Edge.Commands;

/// <summary>
/// <c>iotpe script ...</c>: work with JavaScript business rules, in the data folder or, with <c>--mysql</c>,
/// on a central engine's server: as the service user, or as the account itself with only its own
/// credentials (the connection string's user is ACCOUNT), through the server's <c>script_*</c> procedures.
/// </summary>
internal static class ScriptCommands
{
    public static Command Build()
    {
        var script = new Command("script", "Work with JavaScript business rules: check, load, list, show, remove, schedule.");
        script.Subcommands.Add(BuildCheck());
        script.Subcommands.Add(BuildLoad());
        script.Subcommands.Add(BuildList());
        script.Subcommands.Add(BuildShow());
        script.Subcommands.Add(BuildRemove());
        script.Subcommands.Add(BuildSchedule());
        return script;
    }

    private static Argument<string> AccountArgument() => new("ACCOUNT") { Description = "The account that owns the script." };

    private static Argument<string> NameArgument() => new("NAME") { Description = "The script name: it runs on /<ACCOUNT>/run/<NAME>." };

    private static Option<string?> MySql() => MySqlOption.Create(
        "Work on a central engine's MySQL/MariaDB server: the service user's connection string, or the account's own "
        + "(User ID=ACCOUNT; its Database= names the service database, default iotpe)");

    /// <summary>
    /// Runs <paramref name="action"/> on the script store (and the account's quarantined runs) once the
    /// account is known to exist (exit code 1 if not): the data folder's, the central server's as the
    /// service user, or the account's own procedures when the connection string's user is the account.
    /// </summary>
    private static int WithStore(ParseResult parseResult, Option<string> data, Option<string?> mysql, string account,
        Func<IScriptStore, Func<IReadOnlyList<QuarantinedRun>>, int> action)
    {
        TextWriter error = parseResult.InvocationConfiguration.Error;
        if (parseResult.GetValue(mysql) is { } connectionString)
        {
            return MySqlOption.Guard(parseResult, () =>
            {
                if (MySqlOption.UserOf(connectionString) == account)
                {
                    var own = new MySqlAccountScripts(connectionString);
                    return action(own, own.Quarantined);
                }
                var service = new MySqlServiceDatabase(connectionString);
                if (!new MySqlAccountStore(service).Exists(account))
                {
                    error.WriteLine($"iotpe: no account '{account}'");
                    return 1;
                }
                return action(new MySqlScriptStore(service), () => new MySqlRunAttemptStore(service).Quarantined(account));
            });
        }
        using var database = new SqliteEngineDatabase(parseResult.GetRequiredValue(data));
        if (!new SqliteAccountStore(database).LoadAll().Accounts.Any(a => a.Name == account))
        {
            error.WriteLine($"iotpe: no account '{account}'");
            return 1;
        }
        return action(new SqliteScriptStore(database), () => new SqliteRunAttemptStore(database).Quarantined(account));
    }

    private static int NoSuchScript(ParseResult parseResult, string account, string name)
    {
        parseResult.InvocationConfiguration.Error.WriteLine($"iotpe: no such script: {account}/{name}");
        return 1;
    }

    /// <summary>Reads a script file; null (after saying why) if it cannot be read.</summary>
    private static string? ReadScriptFile(FileInfo path, TextWriter error)
    {
        try
        {
            return File.ReadAllText(path.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"iotpe: cannot read {path}: {e.Message}");
            return null;
        }
    }

    private static Command BuildLoad()
    {
        var data = DataFolderOption.Create();
        var account = AccountArgument();
        var name = NameArgument();
        var file = new Argument<FileInfo>("FILE") { Description = "The JavaScript file." };
        var mysql = MySql();
        var load = new Command("load", "Compile a script and store it as the account's next version of NAME (a running engine uses it from the next run).")
        {
            account, name, file, data, mysql,
        };
        load.SetAction(parseResult =>
        {
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string accountName = parseResult.GetRequiredValue(account);
            string scriptName = parseResult.GetRequiredValue(name);
            FileInfo path = parseResult.GetRequiredValue(file);
            if (!ScriptName.IsValid(scriptName, out string? problem))
            {
                error.WriteLine($"iotpe: invalid script name: {problem}");
                return 1;
            }
            if (ReadScriptFile(path, error) is not { } text)
            {
                return 2;
            }
            if (ScriptCheck.Check(path.Name, text) is { } syntax)
            {
                error.WriteLine($"{path}:{syntax}");
                return 1;
            }
            return WithStore(parseResult, data, mysql, accountName, (store, quarantined) =>
            {
                // The command does not read the configuration file: it applies the default quotas.
                ScriptQuota quota = new IoTPE.Engine.EngineOptions().ScriptQuota;
                if (store.Save(accountName, scriptName, text, quota, out long bytesNeeded) is not { } saved)
                {
                    error.WriteLine($"iotpe: {accountName}'s scripts would take {bytesNeeded} bytes, more than their quota of {quota.MaxBytes} bytes; remove scripts it no longer needs");
                    return 1;
                }
                parseResult.InvocationConfiguration.Output.WriteLine($"{accountName}/{scriptName} version {saved.Version} loaded");
                return 0;
            });
        });
        return load;
    }

    private static Command BuildList()
    {
        var data = DataFolderOption.Create();
        var account = AccountArgument();
        var mysql = MySql();
        var list = new Command("list", "List an account's scripts (newest versions), their schedules and quarantined run requests.") { account, data, mysql };
        list.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(account);
            return WithStore(parseResult, data, mysql, accountName, (store, quarantined) =>
            {
                IReadOnlyList<ScriptSchedule> schedules = store.Schedules();
                foreach (StoredScript script in store.List(accountName))
                {
                    ScriptSchedule? schedule = schedules.FirstOrDefault(s => s.Account == accountName && s.Name == script.Name);
                    parseResult.InvocationConfiguration.Output.WriteLine(
                        $"{script.Name}	version {script.Version}	loaded {script.CreatedAt:yyyy-MM-dd HH:mm}Z" +
                        (schedule is null ? "" : $"	every {schedule.EverySeconds} s"));
                }
                foreach (QuarantinedRun run in quarantined())
                {
                    parseResult.InvocationConfiguration.Output.WriteLine($"quarantined	{run.Topic}	since {run.At:yyyy-MM-dd HH:mm}Z	(crashed or hung the process twice; not run again)");
                }
                return 0;
            });
        });
        return list;
    }

    private static Command BuildShow()
    {
        var data = DataFolderOption.Create();
        var account = AccountArgument();
        var name = NameArgument();
        var version = new Option<int?>("--version") { Description = "Show this version instead of the newest." };
        var mysql = MySql();
        var show = new Command("show", "Print a script's text.") { account, name, data, version, mysql };
        show.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(account);
            string scriptName = parseResult.GetRequiredValue(name);
            return WithStore(parseResult, data, mysql, accountName, (store, quarantined) =>
            {
                StoredScript? script = parseResult.GetValue(version) is { } v ? store.Get(accountName, scriptName, v) : store.GetLatest(accountName, scriptName);
                if (script is null)
                {
                    return NoSuchScript(parseResult, accountName, scriptName);
                }
                parseResult.InvocationConfiguration.Output.Write(script.Text);
                return 0;
            });
        });
        return show;
    }

    private static Command BuildRemove()
    {
        var data = DataFolderOption.Create();
        var account = AccountArgument();
        var name = NameArgument();
        var mysql = MySql();
        var remove = new Command("remove", "Delete a script, every version, and its schedule.") { account, name, data, mysql };
        remove.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(account);
            string scriptName = parseResult.GetRequiredValue(name);
            return WithStore(parseResult, data, mysql, accountName, (store, quarantined) =>
            {
                if (!store.Remove(accountName, scriptName))
                {
                    return NoSuchScript(parseResult, accountName, scriptName);
                }
                parseResult.InvocationConfiguration.Output.WriteLine($"{accountName}/{scriptName} removed");
                return 0;
            });
        });
        return remove;
    }

    private static Command BuildSchedule()
    {
        var data = DataFolderOption.Create();
        var account = AccountArgument();
        var name = NameArgument();
        var every = new Option<int?>("--every") { Description = "Run the script every N seconds (1 to 86400)." };
        var off = new Option<bool>("--off") { Description = "Stop running it on a schedule." };
        var mysql = MySql();
        var schedule = new Command("schedule", "Run a stored script every N seconds, never overlapping.") { account, name, data, every, off, mysql };
        schedule.SetAction(parseResult =>
        {
            string accountName = parseResult.GetRequiredValue(account);
            string scriptName = parseResult.GetRequiredValue(name);
            int? seconds = parseResult.GetValue(every);
            bool stop = parseResult.GetValue(off);
            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (stop == seconds.HasValue || seconds is < 1 or > 86_400)
            {
                error.WriteLine("iotpe: give either --every N (1 to 86400) or --off");
                return 1;
            }
            return WithStore(parseResult, data, mysql, accountName, (store, quarantined) =>
            {
                if (store.GetLatest(accountName, scriptName) is null)
                {
                    return NoSuchScript(parseResult, accountName, scriptName);
                }
                store.SetSchedule(accountName, scriptName, seconds);
                parseResult.InvocationConfiguration.Output.WriteLine(seconds is { } s
                    ? $"{accountName}/{scriptName} runs every {s.ToString(CultureInfo.InvariantCulture)} s"
                    : $"{accountName}/{scriptName} no longer runs on a schedule");
                return 0;
            });
        });
        return schedule;
    }

    private static Command BuildCheck()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The script file to check (JavaScript, ES5.1 with parts of ES2015+)." };
        var check = new Command("check", "Compile a script in the sandbox without running it; report syntax errors with line and column (exit code 1).")
        {
            file,
        };
        check.SetAction(parseResult =>
        {
            FileInfo path = parseResult.GetRequiredValue(file);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            if (ReadScriptFile(path, error) is not { } text)
            {
                return 2;
            }
            ScriptError? problem = ScriptCheck.Check(path.Name, text);
            if (problem is null)
            {
                output.WriteLine($"{path}: ok");
                return 0;
            }
            error.WriteLine($"{path}:{problem}");
            return 1;
        });
        return check;
    }
}
