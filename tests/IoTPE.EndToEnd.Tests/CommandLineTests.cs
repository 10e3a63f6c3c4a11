using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>The published binary's first commands: they prove SQLite and the script engine work under NativeAOT.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("iotpe-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<ProcessRun> Iotpe(params string[] args) => ProcessRun.RunAsync(IotpeBinary.Path, args);

    [Fact]
    public async Task Version_names_the_runtime_SQLite_and_Jint_inside_the_binary()
    {
        ProcessRun run = await Iotpe("--version");
        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"^iotpe \d+\.\d+\.\d+ \(\.NET (9|10)\.\d+\.\d+, linux-[a-z0-9]+, SQLite 3\.\d+\.\d+, Jint 4\.\d+\.\d+\)\s*$", run.StandardOutput);
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        ProcessRun run = await Iotpe("--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("script", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Usage:", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_check_accepts_a_valid_script()
    {
        string file = Path.Combine(_dir, "calc.js");
        await File.WriteAllTextAsync(file, "var a = JSON.parse(message.payload);\nreturn { sum: a.x + a.y };\n");
        ProcessRun run = await Iotpe("script", "check", file);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("ok", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.StandardError);
    }

    [Fact]
    public async Task Script_check_rejects_a_broken_script_with_line_and_column()
    {
        string file = Path.Combine(_dir, "broken.js");
        await File.WriteAllTextAsync(file, "var a = 1;\nvar b = {\n  x: 1,\n  y: ;\n};\n");
        ProcessRun run = await Iotpe("script", "check", file);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(file + ":4:6: SyntaxError", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_check_of_a_missing_file_says_so()
    {
        ProcessRun run = await Iotpe("script", "check", Path.Combine(_dir, "missing.js"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot read", run.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "broker": { "receiveMaximum": 0 } }""", "broker.receiveMaximum must be at least 1, not 0")]
    [InlineData("""{ "broker": { "maxQueuedMessages": -5 } }""", "broker.maxQueuedMessages must be at least 1, not -5")]
    [InlineData("""{ "broker": { "maximumPacketSize": 10 } }""", "broker.maximumPacketSize must be between 128 and 268435460, not 10")]
    [InlineData("""{ "broker": { "listeners": [ { "name": "lan", "port": 70000 } ] } }""", "broker.listeners[lan].port must be between 0 and 65535, not 70000")]
    [InlineData("""{ "engine": { "scriptWorkers": 0 } }""", "engine.scriptWorkers must be at least 1, not 0")]
    [InlineData("""{ "engine": { "idleHeapMinutes": -1 } }""", "engine.idleHeapMinutes must be at least 1, not -1")]
    [InlineData("""{ "engine": { "runTimeoutMs": 100 } }""", "runTimeoutMs")]
    [InlineData("""{ "storage": { "commitDelayMilliseconds": 500 } }""", "storage.commitDelayMilliseconds must be between 0 (commit at once) and 100, not 500")]
    public async Task Run_refuses_a_configuration_out_of_range_and_names_the_setting(string json, string expected)
    {
        string config = Path.Combine(_dir, "iotpe.json");
        await File.WriteAllTextAsync(config, json);
        ProcessRun run = await Iotpe("run", "--data", Path.Combine(_dir, "data"), "--config", config);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_binary_stands_alone_with_only_libc_level_dependencies()
    {
        string binary = IotpeBinary.Path;
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(binary)!, "*.so*"));
        ProcessRun ldd = await ProcessRun.RunAsync("ldd", [binary]);
        Assert.Equal(0, ldd.ExitCode);
        string[] allowed = ["linux-vdso", "libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "ld-linux", "libgcc_s.so"];
        foreach (string line in ldd.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Assert.True(allowed.Any(a => line.Contains(a, StringComparison.Ordinal)), "unexpected dependency: " + line);
        }
    }
}
