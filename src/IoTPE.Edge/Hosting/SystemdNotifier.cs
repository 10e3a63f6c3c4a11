using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Tells systemd (Type=notify units) that the service is ready, alive or stopping, through the
/// datagram socket named in <c>NOTIFY_SOCKET</c> (sd_notify's protocol). Does nothing outside systemd.
/// </summary>
internal static class SystemdNotifier
{
    public static void Notify(string state)
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        if (path[0] == '@')
        {
            path = "\0" + path[1..]; // abstract socket namespace
        }
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
        }
        catch (SocketException)
        {
            // Not fatal: systemd falls back to its start timeout.
        }
    }

    /// <summary>
    /// The unit's <c>WatchdogSec=</c> as systemd passes it (<c>WATCHDOG_USEC</c>, for this process
    /// when <c>WATCHDOG_PID</c> names it), or null when no watchdog is expected (sd_watchdog_enabled).
    /// </summary>
    public static TimeSpan? WatchdogTimeout
    {
        get
        {
            string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
            if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            {
                return null; // meant for another process (e.g. our parent)
            }
            if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long microseconds)
                || microseconds <= 0)
            {
                return null;
            }
            return TimeSpan.FromMicroseconds(microseconds);
        }
    }
}
