using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IoTPE.TestSupport;

/// <summary>
/// A real MariaDB server of the test's own: a fresh data directory under the temp folder, a free
/// loopback port and a Unix socket beside it, started with <c>--no-defaults</c> so the machine's
/// configuration and any system service play no part. <c>root</c> has no password and may log in
/// over TCP from 127.0.0.1 (the test is the administrator, as a user setting up the central is).
/// Killed and its folder deleted on dispose. Starting one takes about 2 s: share it per test class
/// (an <c>IClassFixture</c>) or per collection, and give each test its own databases and users.
/// </summary>
public sealed class MariaDbServer : IAsyncDisposable
{
    private readonly TempFolder _folder = new();
    private Process? _process;

    private MariaDbServer()
    {
        Port = FreePort();
    }

    /// <summary>The TCP port on 127.0.0.1 (the same across <see cref="RestartAsync"/>).</summary>
    public int Port { get; }

    /// <summary>The server's Unix socket.</summary>
    public string SocketPath => Path.Combine(_folder.Path, "mariadb.sock");

    /// <summary>The data directory: it survives <see cref="KillAsync"/> and <see cref="RestartAsync"/>.</summary>
    public string DataDirectory => Path.Combine(_folder.Path, "data");

    /// <summary>
    /// The server's own temporary folder. Not the shared /tmp: mariadbd deletes every <c>#sql*</c> file in
    /// its tmpdir when it starts, so a server starting beside another's bootstrap (test projects run in
    /// parallel) removed that bootstrap's temporary tables ("Unknown table 'mysql.tmp_user_sys'", CI 2026-12-04).
    /// </summary>
    public string TempDirectory => Path.Combine(_folder.Path, "tmp");

    /// <summary>The server's error log (startup, crash recovery, shutdown).</summary>
    public string LogPath => Path.Combine(_folder.Path, "server.log");

    /// <summary>True while the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A MySqlConnector connection string for <paramref name="user"/> over TCP.</summary>
    public string ConnectionString(string user, string password, string? database = null) =>
        $"Server=127.0.0.1;Port={Port};User ID={user};Password={password};"
        + (database is null ? "" : $"Database={database};")
        + "SslMode=None;AllowPublicKeyRetrieval=true";

    /// <summary>The administrator's connection string (root, no password).</summary>
    public string RootConnectionString => ConnectionString("root", "");

    /// <summary>Creates a data directory and starts a server on it.</summary>
    public static async Task<MariaDbServer> StartAsync()
    {
        var server = new MariaDbServer();
        try
        {
            Directory.CreateDirectory(server.TempDirectory);
            ProcessRun install = await ProcessRun.RunAsync("mariadb-install-db",
                ["--no-defaults", "--datadir=" + server.DataDirectory, "--auth-root-authentication-method=normal",
                 "--skip-test-db", "--skip-name-resolve", "--tmpdir=" + server.TempDirectory],
                TimeSpan.FromSeconds(60));
            if (install.ExitCode != 0)
            {
                throw new InvalidOperationException("mariadb-install-db failed: " + install.StandardError + install.StandardOutput);
            }
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server with SIGKILL (a power cut as far as its files are concerned).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the server cleanly (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            await ProcessRun.RunAsync("kill", ["-TERM", process.Id.ToString()]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
        }
    }

    /// <summary>Starts the server again on the same data directory and port (after a stop or a kill).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    /// <summary>Runs SQL as root through the <c>mariadb</c> client; returns its tab-separated output without headers.</summary>
    public async Task<string> ExecuteAsRootAsync(string sql)
    {
        ProcessRun run = await ProcessRun.RunAsync("mariadb",
            ["--no-defaults", "--socket=" + SocketPath, "-uroot", "--batch", "--skip-column-names", "-e", sql],
            TimeSpan.FromSeconds(60));
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"mariadb -e \"{sql}\" failed: {run.StandardError}");
        }
        return run.StandardOutput;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _process?.Dispose();
            _folder.Dispose();
        }
    }

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo("mariadbd")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
                 {
                     "--no-defaults", "--datadir=" + DataDirectory, "--socket=" + SocketPath, "--port=" + Port,
                     "--bind-address=127.0.0.1", "--skip-name-resolve", "--log-error=" + LogPath, "--tmpdir=" + TempDirectory,
                     "--pid-file=" + Path.Combine(_folder.Path, "mariadb.pid"),
                     // Small enough for 2-core CI machines running several servers; durable as shipped.
                     "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=64M", "--max-connections=500",
                 })
        {
            info.ArgumentList.Add(argument);
        }
        if (Environment.UserName == "root")
        {
            info.ArgumentList.Add("--user=root"); // mariadbd refuses to run as root without being told to
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start mariadbd");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Ready means it accepts a query, not only that the socket file exists (InnoDB recovery runs first).
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("mariadbd exited at start: " + ReadLogTail());
            }
            if (File.Exists(SocketPath))
            {
                ProcessRun ping = await ProcessRun.RunAsync("mariadb-admin",
                    ["--no-defaults", "--socket=" + SocketPath, "-uroot", "ping"], TimeSpan.FromSeconds(30));
                if (ping.ExitCode == 0)
                {
                    return;
                }
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException("mariadbd did not become ready in 120 s: " + ReadLogTail());
            }
            await Task.Delay(50);
        }
    }

    private string ReadLogTail()
    {
        try
        {
            string log = File.ReadAllText(LogPath);
            return log.Length > 2000 ? log[^2000..] : log;
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
