using System.Runtime.InteropServices;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>Finds the published <c>iotpe</c> binary these tests run.</summary>
internal static class IotpeBinary
{
    /// <summary>The repository's root folder.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// <c>$IOTPE_BINARY</c> if set, else <c>artifacts/&lt;rid&gt;/iotpe</c> as build/publish.sh leaves it.
    /// </summary>
    public static string Path
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("IOTPE_BINARY");
            string path = !string.IsNullOrEmpty(configured)
                ? configured
                : System.IO.Path.Combine(RepoRoot, "artifacts", HostRid, "iotpe");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"The published iotpe binary is missing at {path}. Run ./build/test.sh, or ./build/publish.sh --rid {HostRid} before dotnet test.", path);
            }
            return path;
        }
    }

    private static string HostRid => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        _ => "linux-x64",
    };

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "IoTPE.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (IoTPE.sln) above " + AppContext.BaseDirectory);
    }
}
