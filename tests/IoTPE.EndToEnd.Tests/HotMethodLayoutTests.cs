using System.Globalization;
using System.Runtime.InteropServices;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The published binaries lay out the methods of src/IoTPE.Edge/hot-methods.txt first and together,
/// in the file's order (IlcOrderFile), and the file still names the methods the code has: a list that
/// went stale costs nothing visible but the layout, so only this test notices it.
/// </summary>
public sealed class HotMethodLayoutTests
{
    // A method renamed or gone since build/hot-methods.sh ran is skipped by ILC. A few are harmless;
    // more mean the hot path changed and the list should be regenerated.
    private const double LeastFoundShare = 0.9;

    public static TheoryData<string> PublishedRids()
    {
        var rids = new TheoryData<string>(RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64");
        if (RuntimeInformation.OSArchitecture != Architecture.Arm64)
        {
            rids.Add("linux-arm64"); // build/test.sh cross-compiles it
        }
        return rids;
    }

    [Theory]
    [MemberData(nameof(PublishedRids))]
    public async Task The_hot_methods_are_laid_out_together_in_the_listed_order(string rid)
    {
        string[] listed = [.. File.ReadAllLines(Path.Combine(IotpeBinary.RepoRoot, "src", "IoTPE.Edge", "hot-methods.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];
        Dictionary<string, (ulong Address, ulong Size)> symbols = await ReadSymbolsAsync(rid);

        var found = listed.Where(symbols.ContainsKey).Select(name => (Name: name, symbols[name].Address, symbols[name].Size)).ToList();
        string[] missing = [.. listed.Where(n => !symbols.ContainsKey(n))];
        Assert.True(found.Count >= LeastFoundShare * listed.Length,
            $"{missing.Length} of {listed.Length} methods of hot-methods.txt are not in the {rid} binary; run build/hot-methods.sh. First: {string.Join(", ", missing.Take(5))}");

        // A runtime export's second name shares its method's address; ILC orders the method by its own name.
        var named = symbols.Values.GroupBy(s => s.Address).ToDictionary(g => g.Key, g => g.Count());
        var laidOut = found.Where(m => named[m.Address] == 1).ToList();
        for (int i = 1; i < laidOut.Count; i++)
        {
            Assert.True(laidOut[i].Address > laidOut[i - 1].Address,
                $"{laidOut[i].Name} lies before {laidOut[i - 1].Name}, which hot-methods.txt lists first: the {rid} build did not apply IlcOrderFile");
        }
        // Together: the span they cover is their own size plus alignment padding, not the binary's code between them.
        ulong span = laidOut[^1].Address + laidOut[^1].Size - laidOut[0].Address;
        ulong sizes = laidOut.Aggregate(0UL, (sum, m) => sum + m.Size);
        Assert.True(span < sizes + ((ulong)laidOut.Count * 32) + 4096, $"the hot methods of the {rid} binary span {span} bytes for {sizes} bytes of code");
    }

    /// <summary>Name → (address, size) of every function in the binary's symbols (build/publish.sh keeps them in artifacts/symbols/RID/iotpe.dbg).</summary>
    private static async Task<Dictionary<string, (ulong, ulong)>> ReadSymbolsAsync(string rid)
    {
        string symbolsFile = Path.Combine(IotpeBinary.RepoRoot, "artifacts", "symbols", rid, "iotpe.dbg");
        Assert.True(File.Exists(symbolsFile), $"{symbolsFile} is missing: run ./build/test.sh, or ./build/publish.sh --rid {rid}");
        ProcessRun readelf = await ProcessRun.RunAsync("readelf", ["-sW", symbolsFile], TimeSpan.FromMinutes(1));
        Assert.Equal(0, readelf.ExitCode);
        var symbols = new Dictionary<string, (ulong, ulong)>(StringComparer.Ordinal);
        // "  Num:    Value          Size Type    Bind   Vis      Ndx Name"
        foreach (string line in readelf.StandardOutput.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 8 && f[3] == "FUNC" && ulong.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address))
            {
                symbols.TryAdd(f[7], (address, ulong.Parse(f[2], CultureInfo.InvariantCulture)));
            }
        }
        return symbols;
    }
}
