using System.Runtime.InteropServices;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// P/Invoke surface of <c>libiotpe_duk</c>: IoTPE's shim (<c>iotpe_*</c>) and the few Duktape API
/// functions the sandbox calls directly. The JIT build loads <c>libiotpe_duk.so</c>; the NativeAOT
/// binary links <c>libiotpe_duk.a</c> statically (DirectPInvoke).
/// </summary>
internal static unsafe partial class DuktapeNative
{
    private const string Library = "iotpe_duk";

    /// <summary>Duktape's <c>DUK_COMPILE_FUNCTION</c>: the source is one function expression.</summary>
    internal const uint DUK_COMPILE_FUNCTION = 1U << 4;

    /// <summary>Duktape's <c>DUK_COMPILE_STRICT</c>.</summary>
    internal const uint DUK_COMPILE_STRICT = 1U << 5;

    [LibraryImport(Library)]
    internal static partial nint iotpe_heap_create(nuint memoryLimit);

    [LibraryImport(Library)]
    internal static partial nint iotpe_heap_context(nint heap);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_destroy(nint heap);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_begin_run(nint heap, long timeoutMilliseconds);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_end_run(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_timed_out(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_allocation_refused(nint heap);

    [LibraryImport(Library)]
    internal static partial nuint iotpe_heap_used(nint heap);

    [LibraryImport(Library)]
    internal static partial nuint iotpe_heap_peak(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_compile(nint ctx, byte* source, nuint length, byte* fileName, uint flags);

    [LibraryImport(Library)]
    internal static partial long iotpe_error_source_offset(nint ctx, int index);

    [LibraryImport(Library)]
    internal static partial nint iotpe_version();

    [LibraryImport(Library)]
    internal static partial byte* duk_safe_to_lstring(nint ctx, int index, out nuint length);

    [LibraryImport(Library)]
    internal static partial int duk_get_top(nint ctx);

    [LibraryImport(Library)]
    internal static partial void duk_set_top(nint ctx, int index);
}
