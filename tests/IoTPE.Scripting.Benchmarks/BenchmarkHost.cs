using System.Text.Json;
using IoTPE.Scripting;

namespace IoTPE.Scripting.Benchmarks;

/// <summary>A host that accepts every call and does nothing: the benchmark measures the sandbox, not a broker.</summary>
internal sealed class BenchmarkHost : IScriptHost
{
    public long Calls;

    public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result) => Interlocked.Increment(ref Calls);
}
