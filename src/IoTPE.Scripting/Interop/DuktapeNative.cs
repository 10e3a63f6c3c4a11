using System.Runtime.InteropServices;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// P/Invoke surface of <c>libiotpe_duk</c> (native/iotpe_duk.c). The JIT build loads
/// <c>libiotpe_duk.so</c>; the NativeAOT binary links <c>libiotpe_duk.a</c> statically (DirectPInvoke).
/// </summary>
/// <remarks>
/// Only the shim's <c>iotpe_*</c> entry points are imported, and each of them is non-throwing: a
/// Duktape error is a longjmp, and a longjmp across these managed frames would crash the process.
/// Never import a <c>duk_*</c> API function here; add a protected shim entry point instead.
/// </remarks>
internal static unsafe partial class DuktapeNative
{
    private const string Library = "iotpe_duk";

    /// <summary>Outcome codes of the shim's entry points (<c>IOTPE_*</c> in iotpe_duk.c).</summary>
    internal const int Ok = 0;
    internal const int ScriptError = 1;
    internal const int BadMessage = 2;
    internal const int NotLoaded = 3;
    internal const int ResultError = 4;
    internal const int EngineError = 5;

    /// <summary>Kinds of answer to a host call (<c>IOTPE_REPLY_*</c>).</summary>
    internal const int ReplyJson = 1;
    internal const int ReplyError = 2;

    [LibraryImport(Library)]
    internal static partial nint iotpe_heap_create(
        nuint memoryLimit,
        delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, void> hostCallback,
        nint hostState);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_init(nint heap, byte* prelude, nuint length, long timeoutMilliseconds);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_destroy(nint heap);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_set_limits(nint heap, long maxHostCalls, long maxPublishes, nuint maxHostCallBytes, nuint maxResultBytes);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_interrupt(nint heap);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_clear_interrupt(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_interrupted(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_timed_out(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_heap_allocation_refused(nint heap);

    [LibraryImport(Library)]
    internal static partial nuint iotpe_heap_used(nint heap);

    [LibraryImport(Library)]
    internal static partial nuint iotpe_heap_peak(nint heap);

    [LibraryImport(Library)]
    internal static partial byte* iotpe_heap_result_json(nint heap, out nuint length);

    [LibraryImport(Library)]
    internal static partial byte* iotpe_heap_error_message(nint heap, out nuint length);

    [LibraryImport(Library)]
    internal static partial long iotpe_heap_error_line(nint heap);

    [LibraryImport(Library)]
    internal static partial long iotpe_heap_error_offset(nint heap);

    [LibraryImport(Library)]
    internal static partial void iotpe_heap_collect(nint heap);

    [LibraryImport(Library)]
    internal static partial int iotpe_host_reply(nint heap, int kind, byte* data, nuint length);

    [LibraryImport(Library)]
    internal static partial int iotpe_load(nint heap, byte* key, nuint keyLength, byte* text, nuint length, byte* fileName, long timeoutMilliseconds);

    [LibraryImport(Library)]
    internal static partial int iotpe_check(nint heap, byte* text, nuint length, byte* fileName, long timeoutMilliseconds);

    [LibraryImport(Library)]
    internal static partial int iotpe_unload(nint heap, byte* key, nuint keyLength);

    [LibraryImport(Library)]
    internal static partial int iotpe_run(nint heap, byte* key, nuint keyLength, byte* message, nuint messageLength, long timeoutMilliseconds);

    [LibraryImport(Library)]
    internal static partial nint iotpe_version();
}
