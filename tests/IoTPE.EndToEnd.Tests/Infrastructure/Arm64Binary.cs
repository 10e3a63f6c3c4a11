namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The linux-arm64 binary build/publish.sh cross-compiles (artifacts/linux-arm64/iotpe), run under
/// <c>qemu-aarch64 -L SYSROOT</c> with the sysroot it was linked against (there is no binfmt_misc
/// here, so qemu is always called explicitly).
/// </summary>
internal static class Arm64Binary
{
    public static string Path => System.IO.Path.Combine(IotpeBinary.RepoRoot, "artifacts", "linux-arm64", "iotpe");

    public static string Sysroot => System.IO.Path.Combine(IotpeBinary.RepoRoot, "artifacts", "sysroot-linux-arm64");

    /// <summary>
    /// qemu-aarch64 running the binary; emulation is 10–50× slower, hence the long start-up allowance.
    /// Fails, naming what to run, when the binary, the sysroot or qemu is missing (build/test.sh builds them).
    /// </summary>
    public static IotpeExecutable UnderQemu
    {
        get
        {
            if (!File.Exists(Path))
            {
                throw new FileNotFoundException($"The linux-arm64 binary is missing at {Path}. Run ./build/test.sh, or ./build/publish.sh --rid linux-arm64 before dotnet test.", Path);
            }
            if (!File.Exists(System.IO.Path.Combine(Sysroot, ".packages")))
            {
                throw new DirectoryNotFoundException($"The linux-arm64 sysroot is missing at {Sysroot}. Run ./build/arm64-sysroot.sh.");
            }
            if (!File.Exists("/usr/bin/qemu-aarch64"))
            {
                throw new FileNotFoundException("qemu-aarch64 is missing. Run ./build/setup.sh (it installs qemu-user).");
            }
            return new IotpeExecutable("/usr/bin/qemu-aarch64", ["-L", Sysroot, Path], TimeSpan.FromMinutes(3));
        }
    }
}
