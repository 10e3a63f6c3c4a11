using IoTPE.Edge;

return await IotpeCommandLine.Build().Parse(args).InvokeAsync().ConfigureAwait(false);
