using System.Runtime.InteropServices;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Tunes glibc's allocator, which SQLite allocates from, for a process that writes steadily.
/// By default glibc hands free memory at the top of a thread's heap back to the kernel as soon as
/// it exceeds 128 KiB (the threshold grows only with large blocks), so a writer thread that
/// allocates and frees the same few hundred KiB per transaction pays for a <c>madvise</c>, a TLB
/// flush and page faults on every batch: over a tenth of the bridge's state writer's time in a
/// drain (issue 18, perf). Keeping up to <see cref="TrimThresholdBytes"/> free per heap bounds what is
/// kept (a few heaps are busy in iotpe) and removes that churn.
/// </summary>
internal static partial class NativeHeapTuning
{
    /// <summary>Free memory a heap keeps before returning it to the kernel.</summary>
    public const int TrimThresholdBytes = 8 * 1024 * 1024;

    /// <summary>Blocks at least this large get their own mapping (fixed, as setting the trim threshold stops glibc adapting it).</summary>
    public const int MmapThresholdBytes = 1024 * 1024;

    private const int M_TRIM_THRESHOLD = -1; // malloc.h
    private const int M_MMAP_THRESHOLD = -3;

    /// <summary>
    /// Applies the settings unless the environment sets glibc's own (<c>GLIBC_TUNABLES</c>, <c>MALLOC_*_</c>);
    /// does nothing where the C library is not glibc.
    /// </summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null)
        {
            return;
        }
        try
        {
            // Both return 1 on success; a failure leaves glibc's defaults, which are correct, only slower.
            _ = mallopt(M_TRIM_THRESHOLD, TrimThresholdBytes);
            _ = mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): its allocator has no such settings.
        }
    }

    [LibraryImport("libc.so.6")]
    private static partial int mallopt(int param, int value);
}
