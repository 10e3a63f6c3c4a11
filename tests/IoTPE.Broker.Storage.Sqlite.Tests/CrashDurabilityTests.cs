using System.Diagnostics;
using System.Globalization;
using IoTPE.Broker.Storage;
using Xunit.Abstractions;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// A real process writes through the store and is killed with SIGKILL mid-stream; everything it was
/// told is durable must be in the database afterwards (see IoTPE.Broker.Storage.Sqlite.CrashHelper).
/// </summary>
[Collection(nameof(TimingSensitiveCollection))]
public sealed class CrashDurabilityTests(ITestOutputHelper output) : IDisposable
{
    private const int DurableBeforeKill = 20_000;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("full")]
    [InlineData("normal")]
    public async Task Every_write_reported_durable_survives_a_kill_9(string syncMode)
    {
        var durable = new HashSet<long>();
        var deleted = new HashSet<long>();
        var failed = new List<string>();

        using (Process helper = StartHelper(syncMode))
        {
            try
            {
                int durableSeen = 0;
                DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (durableSeen < DurableBeforeKill)
                {
                    string? line = await helper.StandardOutput.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow);
                    if (line is null)
                    {
                        Assert.Fail($"The helper exited early: {await helper.StandardError.ReadToEndAsync()}");
                    }
                    if (Record(line, durable, deleted, failed) == "durable")
                    {
                        durableSeen++;
                    }
                }
            }
            finally
            {
                helper.Kill(); // SIGKILL on Unix: no finalizers, no flush, no dispose
                await helper.WaitForExitAsync().WaitAsync(StoreTestExtensions.Patience);
            }
            // Lines the helper wrote before it died, still in the pipe.
            string rest = await helper.StandardOutput.ReadToEndAsync();
            foreach (string line in rest.Split('\n'))
            {
                Record(line, durable, deleted, failed);
            }
            Assert.Equal(137, helper.ExitCode); // 128 + SIGKILL
        }

        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { Log = _ => { } });
        StoredBrokerState state = store.Load();
        var messages = state.Messages.ToDictionary(m => m.Id);
        var deliveries = state.Deliveries.Select(d => d.Sequence).ToHashSet();
        // The helper deletes even ids once they are durable: until "deleted" is reported such a row
        // may be present or gone, but an odd id reported durable must be there.
        long[] lost = durable.Where(id => id % 2 == 1 && !(messages.ContainsKey(id) && deliveries.Contains(id))).ToArray();
        long[] half = durable.Where(id => messages.ContainsKey(id) != deliveries.Contains(id)).ToArray();
        long[] resurrected = deleted.Where(id => messages.ContainsKey(id) || deliveries.Contains(id)).ToArray();
        output.WriteLine($"{syncMode}: {durable.Count} durable, {deleted.Count} deleted as reported; {messages.Count} messages and {deliveries.Count} deliveries stored after the kill.");

        Assert.Empty(failed);
        Assert.True(durable.Count >= DurableBeforeKill);
        Assert.Empty(lost);
        Assert.Empty(half); // a message and its delivery commit (and are deleted) together
        Assert.Empty(resurrected);
        Assert.All(durable.Where(messages.ContainsKey), id => Assert.Equal(id, BitConverter.ToInt64(messages[id].Packet, 92)));
        Assert.Equal("ok", DatabaseProbe.Text(store.DatabasePath, "PRAGMA integrity_check"));
    }

    private static string? Record(string line, HashSet<long> durable, HashSet<long> deleted, List<string> failed)
    {
        // Only whole lines count: each ends in '.', and a kill can cut the last one short.
        if (!line.EndsWith('.'))
        {
            return null;
        }
        string[] parts = line[..^1].Split(' ');
        if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long id))
        {
            return parts[0];
        }
        switch (parts[0])
        {
            case "durable":
                durable.Add(id);
                break;
            case "deleted":
                deleted.Add(id);
                break;
            default:
                failed.Add(line);
                break;
        }
        return parts[0];
    }

    private Process StartHelper(string syncMode)
    {
        string helperPath = Path.Combine(AppContext.BaseDirectory, "IoTPE.Broker.Storage.Sqlite.CrashHelper.dll");
        Assert.True(File.Exists(helperPath), helperPath + " is missing; it is built with the tests");
        var start = new ProcessStartInfo(DotnetHost(), [helperPath, _folder.Path, syncMode])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(start) ?? throw new InvalidOperationException("Cannot start the crash helper.");
    }

    private static string DotnetHost()
    {
        // The SDK tells child processes where its host is; a test host started otherwise may itself be dotnet.
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }
        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
