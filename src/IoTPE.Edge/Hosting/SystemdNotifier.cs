using System.Net.Sockets;
using System.Text;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Tells systemd (Type=notify units) that the service is ready or stopping, through the datagram
/// socket named in <c>NOTIFY_SOCKET</c> (sd_notify's protocol). Does nothing outside systemd.
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
}
