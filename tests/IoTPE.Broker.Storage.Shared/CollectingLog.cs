namespace IoTPE.Broker.Storage.Tests;

/// <summary>A log sink that keeps every line, for assertions; thread-safe.</summary>
internal sealed class CollectingLog
{
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];

    public void Write(string line)
    {
        lock (_lock)
        {
            _lines.Add(line);
        }
    }

    public string[] Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }
}
