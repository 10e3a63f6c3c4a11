using IoTPE.Engine;
using IoTPE.Scripting;
using IoTPE.Engine.Storage.Sqlite;

namespace IoTPE.Edge.Configuration;

/// <summary>The <c>engine</c> section of the configuration file; unset values keep the engine's defaults.</summary>
public sealed class EngineSettings
{
    /// <summary>Time budget of one script run, in milliseconds (default 1000).</summary>
    public int? RunTimeoutMilliseconds { get; set; }

    /// <summary>Memory cap of each account's script heap, in MiB (default 16).</summary>
    public int? MemoryLimitMegabytes { get; set; }

    /// <summary>Most publishes per run (default 100).</summary>
    public int? MaxPublishesPerRun { get; set; }

    /// <summary>Script worker threads (default: one per core).</summary>
    public int? ScriptWorkers { get; set; }

    /// <summary>Most kv keys per account (default 10000).</summary>
    public int? MaxKeysPerAccount { get; set; }

    /// <summary>Most run requests the engine takes from its durable queue at once, across accounts (default 16384, at most 60000).</summary>
    public int? MaxRunsInFlight { get; set; }

    /// <summary>Most run requests of one account waiting or running (default 1000); more are refused to their publisher.</summary>
    public int? MaxQueuedRunsPerAccount { get; set; }

    /// <summary>Most runs of one account handed to the script workers at once (default 8).</summary>
    public int? MaxRunsInFlightPerAccount { get; set; }

    /// <summary>Longest chain of runs started by scripts' publishes (default 8).</summary>
    public int? MaxRunHops { get; set; }

    /// <summary>Minutes an account's script heap is kept without a run before it is freed (default 10).</summary>
    public int? IdleHeapMinutes { get; set; }

    /// <summary>Size cap of each account's SQL database, in MiB (default 64).</summary>
    public int? DatabaseLimitMegabytes { get; set; }

    /// <summary>Most bytes of kv keys and values per account (default 16 MiB).</summary>
    public long? MaxKvBytesPerAccount { get; set; }

    /// <summary>Versions kept per stored script (default 5); loading another deletes the oldest.</summary>
    public int? MaxScriptVersions { get; set; }

    /// <summary>Most bytes of every kept version of every stored script of an account (default 8 MiB).</summary>
    public long? MaxScriptBytesPerAccount { get; set; }

    /// <summary>Most bytes (topics and payloads) of retained messages in an account's namespace (default 4 MiB).</summary>
    public long? MaxRetainedBytesPerAccount { get; set; }

    /// <summary>Most JSON one <c>db.query</c> returns, in MiB (default 4).</summary>
    public int? DatabaseResultLimitMegabytes { get; set; }

    /// <summary>Largest string, blob or row in an account's SQL database, in MiB (default 1).</summary>
    public int? DatabaseValueLimitMegabytes { get; set; }

    /// <summary>Most memory one SQL statement of a script may take, in MiB (default 64).</summary>
    public int? DatabaseStatementMemoryMegabytes { get; set; }

    /// <summary>Checks that every value given is in range.</summary>
    /// <exception cref="ConfigurationException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        AtLeast(RunTimeoutMilliseconds, 1, "runTimeoutMilliseconds");
        AtLeast(MemoryLimitMegabytes, 1, "memoryLimitMegabytes");
        AtLeast(MaxPublishesPerRun, 0, "maxPublishesPerRun");
        AtLeast(ScriptWorkers, 1, "scriptWorkers");
        AtLeast(MaxKeysPerAccount, 1, "maxKeysPerAccount");
        AtLeast(MaxRunsInFlight, 1, "maxRunsInFlight");
        if (MaxRunsInFlight > 60_000)
        {
            throw new ConfigurationException($"engine.maxRunsInFlight must be at most 60000, not {MaxRunsInFlight}");
        }
        AtLeast(MaxQueuedRunsPerAccount, 1, "maxQueuedRunsPerAccount");
        AtLeast(MaxRunsInFlightPerAccount, 1, "maxRunsInFlightPerAccount");
        AtLeast(MaxRunHops, 0, "maxRunHops");
        AtLeast(IdleHeapMinutes, 1, "idleHeapMinutes");
        AtLeast(DatabaseLimitMegabytes, 1, "databaseLimitMegabytes");
        AtLeast(MaxKvBytesPerAccount, 1024, "maxKvBytesPerAccount");
        AtLeast(MaxScriptVersions, 1, "maxScriptVersions");
        AtLeast(MaxScriptBytesPerAccount, 1024, "maxScriptBytesPerAccount");
        AtLeast(MaxRetainedBytesPerAccount, 1024, "maxRetainedBytesPerAccount");
        AtLeast(DatabaseResultLimitMegabytes, 1, "databaseResultLimitMegabytes");
        AtLeast(DatabaseValueLimitMegabytes, 1, "databaseValueLimitMegabytes");
        AtLeast(DatabaseStatementMemoryMegabytes, 1, "databaseStatementMemoryMegabytes");
        if (DatabaseResultLimitMegabytes > 1024 || DatabaseValueLimitMegabytes > 512)
        {
            throw new ConfigurationException("engine.databaseResultLimitMegabytes can be at most 1024 and engine.databaseValueLimitMegabytes at most 512");
        }

        static void AtLeast(long? value, long minimum, string name)
        {
            if (value < minimum)
            {
                throw new ConfigurationException($"engine.{name} must be at least {minimum}, not {value}");
            }
        }
    }

    /// <summary>The limits of the accounts' SQL databases these settings give.</summary>
    public AccountDatabaseLimits ToDatabaseLimits()
    {
        const long MiB = 1024 * 1024;
        AccountDatabaseLimits defaults = AccountDatabaseLimits.Default;
        return defaults with
        {
            MaxDatabaseBytes = DatabaseLimitMegabytes is { } database ? database * MiB : defaults.MaxDatabaseBytes,
            MaxResultBytes = DatabaseResultLimitMegabytes is { } result ? (int)(result * MiB) : defaults.MaxResultBytes,
            MaxValueBytes = DatabaseValueLimitMegabytes is { } value ? (int)(value * MiB) : defaults.MaxValueBytes,
            MaxStatementMemoryBytes = DatabaseStatementMemoryMegabytes is { } memory ? memory * MiB : defaults.MaxStatementMemoryBytes,
        };
    }

    /// <summary>The engine options these settings give, with scripts in <c>&lt;data&gt;/scripts</c>.</summary>
    public EngineOptions ToOptions(string dataFolder)
    {
        ScriptLimits defaults = ScriptLimits.Default;
        var options = new EngineOptions
        {
            ScriptFolder = Path.Combine(dataFolder, "scripts"),
            Limits = defaults with
            {
                RunTimeout = RunTimeoutMilliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : defaults.RunTimeout,
                MemoryLimitBytes = MemoryLimitMegabytes is { } mb ? mb * 1024L * 1024 : defaults.MemoryLimitBytes,
                MaxPublishesPerRun = MaxPublishesPerRun ?? defaults.MaxPublishesPerRun,
            },
        };
        if (ScriptWorkers is { } workers)
        {
            options.ScriptWorkers = workers;
        }
        if (MaxKeysPerAccount is { } keys)
        {
            options.MaxKeysPerAccount = keys;
        }
        if (IdleHeapMinutes is { } minutes)
        {
            options.IdleHeapLifetime = TimeSpan.FromMinutes(minutes);
        }
        if (MaxRunsInFlight is { } inFlight)
        {
            options.MaxRunsInFlight = inFlight;
        }
        options.MaxKvBytesPerAccount = MaxKvBytesPerAccount ?? options.MaxKvBytesPerAccount;
        options.MaxScriptVersions = MaxScriptVersions ?? options.MaxScriptVersions;
        options.MaxScriptBytesPerAccount = MaxScriptBytesPerAccount ?? options.MaxScriptBytesPerAccount;
        options.MaxRetainedBytesPerAccount = MaxRetainedBytesPerAccount ?? options.MaxRetainedBytesPerAccount;
        if (MaxQueuedRunsPerAccount is { } queuedRuns)
        {
            options.MaxQueuedRunsPerAccount = queuedRuns;
        }
        if (MaxRunsInFlightPerAccount is { } accountShare)
        {
            options.MaxRunsInFlightPerAccount = accountShare;
        }
        if (MaxRunHops is { } hops)
        {
            options.MaxRunHops = hops;
        }
        return options;
    }
}
