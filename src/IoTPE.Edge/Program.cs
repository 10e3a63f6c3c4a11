using IoTPE.Edge;
using IoTPE.Edge.Hosting;

// Run socket completions on the socket engine's own thread instead of queueing each one to the
// thread pool: the broker's work per read is short and takes one lock, so this halves the CPU the
// broker spends at moderate rates (context switches) and raises throughput. It must be set before
// the first socket is created; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}
// Plain-TCP MQTT connections do not use this engine: the broker serves them on epoll loops of its
// own (IoTPE.Broker's Transport/SocketEventLoop.cs). TLS and WebSocket connections, the bridge's
// and the MySQL client's sockets do.
// With inline completions the runtime starts one socket event thread per core. The broker's passes
// take one lock, so more threads than half the cores buy no throughput, only wake-ups: a message
// from one client to another woke two event threads instead of one (issue 14, perf).
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT",
        Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
}

NativeHeapTuning.Apply();

return await IotpeCommandLine.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
