using System.Runtime.InteropServices;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>Finds the published <c>iotpe</c> binary these tests run.</summary>
internal static class IotpeBinary
{
    /// <summary>The repository's root folder.</summary>
    public static string RepoRoot { get; } = RepositoryRoot.Find();

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
}
