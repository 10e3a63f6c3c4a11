using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project tests/IoTPE.Mqtt.Benchmarks -- --filter '*'
// Quick:   dotnet run -c Release --project tests/IoTPE.Mqtt.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(IoTPE.Mqtt.Benchmarks.PublishBenchmarks).Assembly).Run(args);
