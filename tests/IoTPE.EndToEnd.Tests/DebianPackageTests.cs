using System.Globalization;
using System.Text.RegularExpressions;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// build/package.sh's .deb for this machine: what it holds, and a real install, upgrade (to a build
/// with a higher version), removal and purge with dpkg on this machine. systemd does not run here,
/// so the maintainer scripts must cope without it; the service's command is run as its user instead.
/// Every test leaves the machine as it found it.
/// </summary>
public sealed partial class DebianPackageTests : IClassFixture<DebianPackageTests.Packages>
{
    private readonly Packages _packages;

    public DebianPackageTests(Packages packages)
    {
        _packages = packages;
    }

    [Fact]
    public async Task The_package_holds_the_binary_the_unit_and_the_configuration_as_a_conffile()
    {
        string deb = _packages.Current;
        Assert.Equal($"iotpe_{Packages.ProductVersion}_amd64.deb", Path.GetFileName(deb));
        Assert.Equal("iotpe", await Field(deb, "Package"));
        Assert.Equal(Packages.ProductVersion, await Field(deb, "Version"));
        Assert.Equal("amd64", await Field(deb, "Architecture"));
        Assert.Contains("adduser", await Field(deb, "Depends"), StringComparison.Ordinal);

        string listing = (await Run("dpkg-deb", "--contents", deb)).StandardOutput;
        Assert.Matches(@"-rwxr-xr-x root/root +\d+ [^\n]* \./usr/bin/iotpe\n", listing);
        Assert.Matches(@"-rw-r--r-- root/root +\d+ [^\n]* \./lib/systemd/system/iotpe\.service\n", listing);
        Assert.Matches(@"-rw-r--r-- root/root +\d+ [^\n]* \./etc/iotpe/iotpe\.json\n", listing);

        string control = Directory.CreateTempSubdirectory("iotpe-deb-control-").FullName;
        string files = Directory.CreateTempSubdirectory("iotpe-deb-files-").FullName;
        try
        {
            await Run("dpkg-deb", "--control", deb, control);
            Assert.Equal("/etc/iotpe/iotpe.json", File.ReadAllText(Path.Combine(control, "conffiles")).Trim());
            foreach (string script in (string[])["postinst", "prerm", "postrm"])
            {
                Assert.True(File.Exists(Path.Combine(control, script)), script + " is missing");
            }
            await Run("dpkg-deb", "--extract", deb, files);
            Assert.Equal(File.ReadAllText(Path.Combine(IotpeBinary.RepoRoot, "device", "iotpe.service")),
                File.ReadAllText(Path.Combine(files, "lib", "systemd", "system", "iotpe.service")));
            ProcessRun version = await Run(Path.Combine(files, "usr", "bin", "iotpe"), "--version");
            Assert.StartsWith($"iotpe {Packages.ProductVersion} ", version.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(control, recursive: true);
            Directory.Delete(files, recursive: true);
        }
    }

    [Fact]
    public async Task Install_upgrade_remove_and_purge_keep_the_data_until_purge()
    {
        using var machine = await MachineGuard.AcquireAsync();
        const string Password = "s3cret-pw";

        // Install: the account, its data folder and the enabled unit exist; the binary runs.
        await Run("dpkg", "--install", _packages.Current);
        Assert.StartsWith($"iotpe {Packages.ProductVersion} ", (await Run("/usr/bin/iotpe", "--version")).StandardOutput, StringComparison.Ordinal);
        string account = (await Run("getent", "passwd", "iotpe")).StandardOutput.Trim();
        string[] fields = account.Split(':');
        Assert.True(int.Parse(fields[2], CultureInfo.InvariantCulture) < 1000, "iotpe is not a system account: " + account);
        Assert.Equal("/var/lib/iotpe", fields[5]);
        Assert.Equal("iotpe:iotpe 750", (await Run("stat", "-c", "%U:%G %a", "/var/lib/iotpe")).StandardOutput.Trim());
        Assert.True(File.Exists("/etc/systemd/system/multi-user.target.wants/iotpe.service"), "the unit is not enabled");
        Assert.Contains("gpio", (await Run("getent", "group", "gpio")).StandardOutput, StringComparison.Ordinal);

        await AsService("/usr/bin/iotpe", ["account", "add", "acme", "--password-stdin", "--data", "/var/lib/iotpe"], Password + "\n");
        // The user's edit of the conffile must survive the upgrade.
        const string Edit = "// edited by the test\n";
        File.WriteAllText("/etc/iotpe/iotpe.json", Edit + File.ReadAllText("/etc/iotpe/iotpe.json"));

        // Upgrade: new binary, same account, same data, the user's configuration kept.
        await Run("dpkg", "--install", _packages.Newer);
        Assert.StartsWith($"iotpe {Packages.NewerVersion} ", (await Run("/usr/bin/iotpe", "--version")).StandardOutput, StringComparison.Ordinal);
        Assert.Equal(account, (await Run("getent", "passwd", "iotpe")).StandardOutput.Trim());
        Assert.StartsWith(Edit, File.ReadAllText("/etc/iotpe/iotpe.json"), StringComparison.Ordinal);
        Assert.Contains("acme", (await AsService("/usr/bin/iotpe", ["account", "list", "--data", "/var/lib/iotpe"])).StandardOutput, StringComparison.Ordinal);
        await ServiceCommandServesAccountAsync("acme", Password);

        // Remove: the program goes, the data and the account stay.
        await Run("dpkg", "--remove", "iotpe");
        Assert.False(File.Exists("/usr/bin/iotpe"));
        Assert.True(File.Exists("/var/lib/iotpe/engine.db"), "remove deleted the data folder");
        Assert.Equal(0, (await ProcessRun.RunAsync("getent", ["passwd", "iotpe"])).ExitCode);

        // Purge: everything goes, including what deb-systemd-helper recorded.
        await Run("dpkg", "--purge", "iotpe");
        Assert.False(Directory.Exists("/var/lib/iotpe"), "purge kept /var/lib/iotpe");
        Assert.False(Directory.Exists("/etc/iotpe"), "purge kept /etc/iotpe");
        Assert.NotEqual(0, (await ProcessRun.RunAsync("getent", ["passwd", "iotpe"])).ExitCode);
        Assert.NotEqual(0, (await ProcessRun.RunAsync("getent", ["group", "iotpe"])).ExitCode);
        Assert.False(File.Exists("/etc/systemd/system/multi-user.target.wants/iotpe.service"));
        Assert.False(Path.Exists("/etc/systemd/system/iotpe.service"), "the unit is still masked");
    }

    /// <summary>
    /// Runs the unit's ExecStart as its user, on a free loopback port (systemd is absent here), and
    /// publishes as <paramref name="account"/>: the packaged configuration, the data folder's
    /// ownership and the account all work together.
    /// </summary>
    private static async Task ServiceCommandServesAccountAsync(string account, string password)
    {
        string unit = File.ReadAllText(Path.Combine(IotpeBinary.RepoRoot, "device", "iotpe.service"));
        string[] execStart = ExecStart().Match(unit).Groups[1].Value.Split(' ');
        Assert.Equal(["/usr/bin/iotpe", "run", "--config", "/etc/iotpe/iotpe.json"], execStart);
        using OutputCollector service = OutputCollector.Start("setpriv",
            ["--reuid=iotpe", "--regid=iotpe", "--init-groups", "--", .. execStart, "--listen", "127.0.0.1:0"]);
        try
        {
            int port = 0;
            Assert.True(await service.WaitForLineAsync(line =>
            {
                Match m = ListeningLine().Match(line);
                if (m.Success)
                {
                    port = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                }
                return m.Success;
            }, TimeSpan.FromSeconds(30)), "the service command did not listen:\n" + string.Join('\n', service.Lines) + service.Error);
            ProcessRun publish = await MosquittoClients.PublishAsync(port, "-u", account, "-P", password, "-q", "1", "-t", $"/{account}/hello", "-m", "hi");
            Assert.True(publish.ExitCode == 0, "publish as the account failed: " + publish.StandardError);
            await Run("kill", "-TERM", service.ProcessId.ToString(CultureInfo.InvariantCulture));
            Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, service.ExitCode);
        }
        finally
        {
            service.Kill();
        }
    }

    private static async Task<string> Field(string deb, string name) =>
        (await Run("dpkg-deb", "--field", deb, name)).StandardOutput.Trim();

    private static Task<ProcessRun> AsService(string program, string[] arguments, string? standardInput = null) =>
        Run("setpriv", ["--reuid=iotpe", "--regid=iotpe", "--init-groups", "--", program, .. arguments], standardInput);

    private static Task<ProcessRun> Run(string program, params string[] arguments) => Run(program, arguments, null);

    private static async Task<ProcessRun> Run(string program, string[] arguments, string? standardInput)
    {
        ProcessRun run = await ProcessRun.RunAsync(program, arguments, TimeSpan.FromMinutes(2), standardInput ?? "");
        Assert.True(run.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited with {run.ExitCode}:\n{run.StandardOutput}{run.StandardError}");
        return run;
    }

    [GeneratedRegex(@"^ExecStart=(.+)$", RegexOptions.Multiline)]
    private static partial Regex ExecStart();

    [GeneratedRegex(@"Listening on 127\.0\.0\.1:(\d+) ")]
    private static partial Regex ListeningLine();

    /// <summary>
    /// The two packages the tests install: this build's version (from the published binary) and a
    /// build one patch version higher, published by build/package.sh itself.
    /// </summary>
    public sealed class Packages : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-debs-").FullName;

        public Packages()
        {
            string script = Path.Combine(IotpeBinary.RepoRoot, "build", "package.sh");
            Current = Build(script, ["--rid", "linux-x64", "--binary", IotpeBinary.Path, "--output", _folder]);
            Newer = Build(script, ["--rid", "linux-x64", "--version", NewerVersion, "--output", _folder]);
        }

        /// <summary>The product version: Directory.Build.props' &lt;Version&gt;.</summary>
        public static string ProductVersion { get; } =
            Regex.Match(File.ReadAllText(Path.Combine(IotpeBinary.RepoRoot, "Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;

        /// <summary>The product version with its last number one higher.</summary>
        public static string NewerVersion
        {
            get
            {
                string[] parts = ProductVersion.Split('.');
                parts[^1] = (int.Parse(parts[^1], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
                return string.Join('.', parts);
            }
        }

        public string Current { get; }

        public string Newer { get; }

        private string Build(string script, string[] arguments)
        {
            ProcessRun run = ProcessRun.RunAsync(script, arguments, TimeSpan.FromMinutes(20)).GetAwaiter().GetResult();
            Match m = Regex.Match(run.StandardOutput, @"package: (\S+\.deb) ");
            if (run.ExitCode != 0 || !m.Success)
            {
                throw new InvalidOperationException($"package.sh {string.Join(' ', arguments)} failed ({run.ExitCode}):\n{run.StandardOutput}{run.StandardError}");
            }
            return m.Groups[1].Value;
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }

    /// <summary>
    /// Holds a machine-wide lock while a test installs the package, refuses to run where iotpe is
    /// installed already (the test would change someone's installation), and on the way out purges
    /// the package and deletes the gpio group if the package created it.
    /// </summary>
    private sealed class MachineGuard : IDisposable
    {
        private readonly FileStream _lock;
        private readonly bool _hadGpioGroup;

        private MachineGuard(FileStream lockFile, bool hadGpioGroup)
        {
            _lock = lockFile;
            _hadGpioGroup = hadGpioGroup;
        }

        public static async Task<MachineGuard> AcquireAsync()
        {
            FileStream lockFile = await OpenLockAsync();
            ProcessRun status = await ProcessRun.RunAsync("dpkg-query", ["-W", "-f", "${Status}", "iotpe"]);
            if (status.ExitCode == 0 && status.StandardOutput.Contains("installed", StringComparison.Ordinal) && !status.StandardOutput.Contains("not-installed", StringComparison.Ordinal))
            {
                lockFile.Dispose();
                throw new InvalidOperationException("the iotpe package is installed on this machine (" + status.StandardOutput + "); the test would change it");
            }
            if ((await ProcessRun.RunAsync("getent", ["passwd", "iotpe"])).ExitCode == 0)
            {
                lockFile.Dispose();
                throw new InvalidOperationException("an account iotpe exists on this machine; the test would change it");
            }
            bool hadGpio = (await ProcessRun.RunAsync("getent", ["group", "gpio"])).ExitCode == 0;
            return new MachineGuard(lockFile, hadGpio);
        }

        private static async Task<FileStream> OpenLockAsync()
        {
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
            while (true)
            {
                try
                {
                    return new FileStream("/run/lock/iotpe-debian-package-test.lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200); // another worktree's test has the machine's dpkg
                }
            }
        }

        public void Dispose()
        {
            try
            {
                ProcessRun.RunAsync("dpkg", ["--purge", "iotpe"]).GetAwaiter().GetResult();
                if (!_hadGpioGroup)
                {
                    ProcessRun.RunAsync("groupdel", ["gpio"]).GetAwaiter().GetResult();
                }
            }
            finally
            {
                _lock.Dispose();
            }
        }
    }
}
