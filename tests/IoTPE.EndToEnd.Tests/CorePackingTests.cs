using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// A quiet gateway keeps the threads a message passes through (socket loops, script workers) on one
/// core; a busy one lets them use every core (IoTPE.Threading's CorePacking). Read from the kernel:
/// each thread's <c>Cpus_allowed_list</c>.
/// </summary>
public sealed class CorePackingTests
{
    private const string Password = "s3cret-pw";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_quiet_gateway_packs_its_message_threads_and_a_spinning_script_spreads_them_until_it_ends()
    {
        string config = Path.GetTempFileName();
        // A run budget of 3 s: the spinning run keeps a core busy for at least two whole ticks.
        await File.WriteAllTextAsync(config, """{ "engine": { "runTimeoutMilliseconds": 3000 } }""");
        try
        {
            await using IotpeServer server = await IotpeServer.StartAsync(["--config", config], allowAnonymous: false);
            await server.AddAccountAsync("acme", Password);
            string spin = Path.Combine(server.DataFolder, "spin.js");
            await File.WriteAllTextAsync(spin, "while (true) {}");
            Assert.Equal(0, (await server.CommandAsync(["script", "load", "acme", "spin", spin])).ExitCode);
            string all = CpusAllowed(server.ProcessId, server.ProcessId);
            Assert.Contains('-', all); // this test needs two cores or more (CI has two)

            Assert.True(await WaitUntilAsync(() => MessageThreads(server.ProcessId).All(t => IsOneCore(t.Cpus))),
                Describe(server.ProcessId));
            Assert.Equal(all, CpusAllowed(server.ProcessId, server.ProcessId)); // the others keep every core

            using OutputCollector outcome = await MosquittoClients.StartSubscriberAsync(server.Port, ["-u", "acme", "-P", Password, "-t", "/acme/run/spin/+", "-v"]);
            Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, ["-u", "acme", "-P", Password, "-q", "1", "-t", "/acme/run/spin", "-m", "{}"])).ExitCode);

            Assert.True(await WaitUntilAsync(() => MessageThreads(server.ProcessId).All(t => t.Cpus == all)), Describe(server.ProcessId));
            Assert.True(await outcome.WaitUntilAsync(() => outcome.Lines.Any(l => l.Contains("TimedOut", StringComparison.Ordinal)), Patience),
                string.Join('\n', outcome.Lines));
            Assert.True(await WaitUntilAsync(() => MessageThreads(server.ProcessId).All(t => IsOneCore(t.Cpus))), Describe(server.ProcessId));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task With_core_packing_off_the_message_threads_keep_every_core()
    {
        string config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, """{ "corePacking": false }""");
        try
        {
            await using IotpeServer server = await IotpeServer.StartAsync(["--config", config]);
            string all = CpusAllowed(server.ProcessId, server.ProcessId);
            Assert.NotEmpty(MessageThreads(server.ProcessId));

            // Quiet for twice the ticks that pack a gateway with packing on.
            await Task.Delay(TimeSpan.FromSeconds(6));

            Assert.All(MessageThreads(server.ProcessId), t => Assert.Equal(all, t.Cpus));
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static bool IsOneCore(string cpus) => cpus.Length > 0 && cpus.All(char.IsAsciiDigit);

    private static List<(string Name, string Cpus)> MessageThreads(int processId) =>
        [.. Directory.GetDirectories($"/proc/{processId}/task")
            .Select(task => (Name: File.ReadAllText(Path.Combine(task, "comm")).Trim(), Task: task))
            .Where(t => t.Name.StartsWith("iotpe-io", StringComparison.Ordinal) || t.Name.StartsWith("iotpe-script-", StringComparison.Ordinal))
            .Select(t => (t.Name, CpusAllowed(t.Task)))];

    private static string CpusAllowed(int processId, int threadId) => CpusAllowed($"/proc/{processId}/task/{threadId}");

    private static string CpusAllowed(string task) =>
        File.ReadLines(Path.Combine(task, "status")).First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))["Cpus_allowed_list:".Length..].Trim();

    private static string Describe(int processId) => string.Join(", ", MessageThreads(processId).Select(t => $"{t.Name}: {t.Cpus}"));

    private static async Task<bool> WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }
            await Task.Delay(100);
        }
        return condition();
    }
}
