using System.Text;
using Microsoft.Extensions.Logging;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Writes log lines to standard output, one per event, with a UTC timestamp and level — what
/// systemd's journal and a terminal both want. Thread-safe; no configuration framework. Lines are
/// written piece by piece into one buffered writer, so a log line costs only its message string.
/// </summary>
internal sealed class ConsoleLogger(string category, LogLevel minimumLevel) : ILogger
{
    private static readonly Lock OutputLock = new();
    private static readonly StreamWriter Output = new(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 8192);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimumLevel && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        ArgumentNullException.ThrowIfNull(formatter);
        string level = logLevel switch
        {
            LogLevel.Trace => " TRC ",
            LogLevel.Debug => " DBG ",
            LogLevel.Information => " INF ",
            LogLevel.Warning => " WRN ",
            LogLevel.Error => " ERR ",
            _ => " CRT ",
        };
        string message = formatter(state, exception);
        Span<char> timestamp = stackalloc char[32];
        DateTime.UtcNow.TryFormat(timestamp, out int written, "yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        lock (OutputLock)
        {
            Output.Write(timestamp[..written]);
            Output.Write(level);
            Output.Write(category);
            Output.Write(": ");
            Output.WriteLine(message);
            if (exception is not null)
            {
                Output.WriteLine(exception.ToString());
            }
            Output.Flush();
        }
    }
}
