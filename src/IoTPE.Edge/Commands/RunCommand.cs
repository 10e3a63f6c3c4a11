using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoTPE.Broker;
using IoTPE.Broker.Storage;
using System.Runtime.CompilerServices;
using IoTPE.Engine;
using IoTPE.Edge.Configuration;
using IoTPE.Edge.Hosting;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Broker.Storage.MySql;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.Engine.Storage.MySql;
using MySqlConnector;
using IoTPE.Gpio.Configuration;
using IoTPE.Sqlite;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;

namespace IoTPE.Edge.Commands;

/// <summary>
/// <c>iotpe run</c>: the broker and engine on the embedded SQLite store, or (<c>--mysql</c>, the central
/// engine) with the broker's and the engine's stores on a MySQL/MariaDB server, until SIGTERM or Ctrl+C.
/// </summary>
internal static class RunCommand
{
    public static Command Build()
    {
        var data = new Option<string?>("--data") { Description = "Data folder (SQLite databases, scripts). Default: " + DataFolderOption.Default };
        var listen = new Option<string[]>("--listen") { Description = "Plain MQTT listener HOST:PORT; repeat for several. Default: 0.0.0.0:1883", AllowMultipleArgumentsPerToken = false };
        var allowAnonymous = new Option<bool>("--allow-anonymous") { Description = "Let clients connect without credentials" };
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (listeners, TLS, WebSocket, limits, ...)" };
        var sync = new Option<SqliteSyncMode?>("--sync") { Description = "full: commits survive power loss (default); normal: commits survive a process crash" };
        var logLevel = new Option<LogLevel?>("--log-level") { Description = "Trace, Debug, Information (default), Warning, Error" };
        var mysql = MySqlOption.Create("The central engine: the broker's state (sessions, queues, retained messages), accounts, grants, scripts and the "
            + "accounts' databases on a MySQL/MariaDB server, given as the connection string of iotpe's service user");
        var run = new Command("run", "Start the MQTT broker and process engine.")
        {
            data, listen, allowAnonymous, config, sync, logLevel, mysql,
        };
        run.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter error = parseResult.InvocationConfiguration.Error;
            IotpeConfiguration configuration;
            try
            {
                configuration = ConfigurationLoader.Load(parseResult.GetValue(config)?.FullName);
                configuration.Data = parseResult.GetValue(data) ?? configuration.Data ?? DataFolderOption.Default;
                if (parseResult.GetValue(allowAnonymous))
                {
                    configuration.AllowAnonymous = true;
                }
                configuration.Sync = parseResult.GetValue(sync) ?? configuration.Sync ?? SqliteSyncMode.Full;
                configuration.LogLevel = parseResult.GetValue(logLevel) ?? configuration.LogLevel ?? LogLevel.Information;
                if (parseResult.GetValue(mysql) is { } connectionString)
                {
                    configuration.Mysql = new MySqlSettings { ConnectionString = connectionString };
                }
                string[] listens = parseResult.GetValue(listen) ?? [];
                if (listens.Length > 0)
                {
                    // --listen replaces the plain MQTT listeners; TLS and WebSocket ones from the file stay.
                    var kept = configuration.Broker.Listeners.Where(l => l.Tls is not null || l.Protocol != ListenerProtocol.Mqtt).ToList();
                    configuration.Broker.Listeners.Clear();
                    foreach (string value in listens)
                    {
                        configuration.Broker.Listeners.Add(ConfigurationLoader.ParseListen(value));
                    }
                    foreach (ListenerOptions listener in kept)
                    {
                        configuration.Broker.Listeners.Add(listener);
                    }
                }
                configuration.Validate();
            }
            catch (ConfigurationException e)
            {
                await error.WriteLineAsync("iotpe: " + e.Message).ConfigureAwait(false);
                return 2;
            }
            return await RunAsync(configuration, error).ConfigureAwait(false);
        });
        return run;
    }

    private static async Task<int> RunAsync(IotpeConfiguration configuration, TextWriter error)
    {
        var logger = new ConsoleLogger("iotpe", configuration.LogLevel ?? LogLevel.Information);
        string dataFolder = Path.GetFullPath(configuration.Data!);
        IBrokerStore store;
        SqliteBrokerStore? sqliteStore = null;
        SqliteEngineDatabase? engineDatabase = null;
        MySqlServiceDatabase? central = null;
        if (configuration.Mysql?.ConnectionString is { } connectionString)
        {
            try
            {
                central = new MySqlServiceDatabase(connectionString);
                central.SetScriptQuota(configuration.Engine.ToOptions(dataFolder).ScriptQuota);
            }
            catch (Exception e) when (e is MySqlException or ArgumentException)
            {
                await error.WriteLineAsync("iotpe: cannot use the MySQL/MariaDB server: " + e.Message).ConfigureAwait(false);
                return 1;
            }
        }
        try
        {
            Directory.CreateDirectory(dataFolder);
            if (central is null)
            {
                store = sqliteStore = new SqliteBrokerStore(dataFolder, new SqliteBrokerStoreOptions
                {
                    SyncMode = configuration.Sync ?? SqliteSyncMode.Full,
                    CommitDelay = configuration.Storage.CommitDelayMilliseconds is { } delay
                        ? TimeSpan.FromMilliseconds(delay) : SqliteBrokerStoreOptions.DefaultCommitDelay,
                    Log = message => logger.StoreMessage(message),
                });
                engineDatabase = new SqliteEngineDatabase(dataFolder);
            }
            else
            {
                store = OpenCentralBrokerStore(configuration.Mysql!.ConnectionString!, central, logger);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SqliteStoreException or Microsoft.Data.Sqlite.SqliteException)
        {
            await error.WriteLineAsync($"iotpe: cannot open the data folder {dataFolder}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is MySqlBrokerStoreException or MySqlException)
        {
            await error.WriteLineAsync("iotpe: cannot open the broker's store on the MySQL/MariaDB server: " + e.Message).ConfigureAwait(false);
            return 1;
        }

        // One watch for every database on the edge: they share the data folder's file system. The
        // broker store's free pages count as free, since SQLite reuses them but never gives them back.
        // The central's state is on the database server, whose disk iotpe cannot watch: no reserve
        // (a server whose disk is full fails the commit, and the broker refuses the publishes).
        DiskReserve? diskReserve = sqliteStore is null ? null
            : new DiskReserve(configuration.Storage.DiskReserveBytes ?? StorageSettings.DefaultDiskReserveBytes,
                new DataFolderFreeSpace(dataFolder, () => sqliteStore.ReusableBytes), logger);
        await using (store.ConfigureAwait(false))
        using (engineDatabase)
        using (var accountDatabases = engineDatabase is null ? null : new SqliteAccountDatabases(dataFolder, configuration.Engine.ToDatabaseLimits()) { WriteRefusal = diskReserve!.AccountWriteRefusal })
        {
            bool allowAnonymous = configuration.AllowAnonymous ?? false;
            EngineStores stores = central is not null
                ? CentralStores(central, configuration, logger)
                : new EngineStores(new SqliteAccountStore(engineDatabase!), new SqliteScriptStore(engineDatabase!),
                    new SqliteKeyValueStore(engineDatabase!), accountDatabases!, new SqliteRunAttemptStore(engineDatabase!));
            var engine = new ProcessEngine(stores, configuration.Engine.ToOptions(dataFolder), allowAnonymous, logger);
            await using ConfiguredAsyncDisposable engineScope = engine.ConfigureAwait(false);
            try
            {
                // Here, not in Validate: whether a pin's account exists needs the engine's database.
                configuration.Gpio.Validate(engine.Accounts.Current.Exists);
            }
            catch (GpioConfigurationException e)
            {
                await error.WriteLineAsync("iotpe: " + e.Message).ConfigureAwait(false);
                return 2;
            }
            GpioHost? gpio = GpioHost.Create(configuration.Gpio, engine, logger);
            var broker = new Broker.Broker(configuration.Broker, store, engine.Authenticator, engine.Authorizer,
                logger, timeProvider: null, VersionAction.ProductVersion)
            {
                DiskReserve = diskReserve,
                Ticker = engine.Ticker, // housekeeping and the engine's polls wake the process together
            };
            await using (broker.ConfigureAwait(false))
            {
                var bridges = configuration.Bridges
                    .Select(b => new Bridge.Bridge(broker, b.ToOptions(dataFolder, configuration.Broker.SysInterval), engine.Ticker, logger)).ToList();
                try
                {
                    broker.LoadState();
                    engine.Attach(broker); // before the listeners open, so no message misses the engine
                    gpio?.Start(broker); // the pins' states are retained before the first client comes
                    foreach (Bridge.Bridge bridge in bridges)
                    {
                        bridge.Attach(); // before the listeners open, so that the bridge's queue bound holds from the first PUBLISH
                    }
                    await broker.StartAsync().ConfigureAwait(false);
                    foreach (Bridge.Bridge bridge in bridges)
                    {
                        await bridge.StartAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or FormatException)
                {
                    await error.WriteLineAsync("iotpe: cannot start: " + e.Message).ConfigureAwait(false);
                    if (gpio is not null)
                    {
                        await gpio.DisposeAsync().ConfigureAwait(false); // outputs already driven go back to their safe values
                    }
                    return 1;
                }
                logger.Started(VersionAction.ProductVersion, dataFolder, (configuration.Sync ?? SqliteSyncMode.Full).ToString().ToLowerInvariant(),
                    allowAnonymous ? "allowed" : "refused");
                SystemdNotifier.Notify("READY=1");
                BrokerWatchdog? watchdog = BrokerWatchdog.StartIfExpected(broker, engine.Ticker);
                using CorePacking? corePacking = configuration.CorePacking ?? true
                    ? CorePacking.Start(engine.Ticker, logger.CorePackingStopped)
                    : null;

                string signal = await WaitForStopSignalAsync().ConfigureAwait(false);
                logger.Stopping(signal);
                SystemdNotifier.Notify("STOPPING=1");
                if (watchdog is not null)
                {
                    await watchdog.DisposeAsync().ConfigureAwait(false);
                }
                if (gpio is not null)
                {
                    await gpio.DisposeAsync().ConfigureAwait(false); // outputs to their safe values, while the broker still publishes
                }
                foreach (Bridge.Bridge bridge in bridges)
                {
                    await bridge.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        logger.Stopped();
        return 0;
    }

    /// <summary>
    /// The broker's store in the service database, beside the engine's tables (their names do not
    /// meet; the service database is granted to no account, so no account's user can read it).
    /// </summary>
    /// <exception cref="MySqlBrokerStoreException">The server cannot be reached, refuses the user, or another broker uses the database.</exception>
    private static MySqlBrokerStore OpenCentralBrokerStore(string connectionString, MySqlServiceDatabase central, ConsoleLogger logger)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString) { Database = central.Name };
        return new MySqlBrokerStore(new MySqlBrokerStoreOptions
        {
            ConnectionString = builder.ConnectionString,
            Log = message => logger.StoreMessage(message),
        });
    }

    /// <summary>The central engine's stores on the MySQL/MariaDB server; passwords are checked by logging in to it.</summary>
    private static EngineStores CentralStores(MySqlServiceDatabase central, IotpeConfiguration configuration, ConsoleLogger logger)
    {
        var accounts = new MySqlAccountStore(central)
        {
            ReachabilityChanged = e => logger.StoreMessage(e is null
                ? "the MySQL/MariaDB server is reachable again"
                : "the MySQL/MariaDB server is unreachable (logins are refused with Server unavailable until it is back): " + e.Message),
        };
        AccountDatabaseLimits limits = configuration.Engine.ToDatabaseLimits();
        var databases = new MySqlAccountDatabases(central, new MySqlAccountDatabaseLimits { MaxDatabaseBytes = limits.MaxDatabaseBytes, MaxResultBytes = limits.MaxResultBytes });
        return new EngineStores(accounts, new MySqlScriptStore(central), new MySqlKeyValueStore(central, accounts), databases,
            new MySqlRunAttemptStore(central), new MySqlLoginCheck(configuration.Mysql!.ConnectionString!));
    }

    private static Task<string> WaitForStopSignalAsync()
    {
        var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        PosixSignalRegistration[] registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stopped.TrySetResult("SIGTERM"); }),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stopped.TrySetResult("SIGINT"); }),
        ];
        return stopped.Task.ContinueWith(t =>
        {
            foreach (PosixSignalRegistration registration in registrations)
            {
                registration.Dispose();
            }
            return t.Result;
        }, TaskScheduler.Default);
    }
}
