using System.Text.Json;
using IoTPE.Scripting;

namespace IoTPE.Scripting.Benchmarks;

/// <summary>
/// A host that accepts every call and does nothing: the benchmark measures the sandbox, not a broker.
/// Takes typed publishes, as the engine's host does.
/// </summary>
internal sealed class BenchmarkHost : IScriptPublisher
{
    public long Calls;

    public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result) => Interlocked.Increment(ref Calls);

    public void Publish(string topic, string payload, int qos, bool retain) => Interlocked.Increment(ref Calls);
}
