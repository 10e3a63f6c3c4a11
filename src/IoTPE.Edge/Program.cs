using IoTPE.Edge;

// Run socket completions on the socket engine's own thread instead of queueing each one to the
// thread pool: the broker's work per read is short and takes one lock, so this halves the CPU the
// broker spends at moderate rates (context switches) and raises throughput. It must be set before
// the first socket is created; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await IotpeCommandLine.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
