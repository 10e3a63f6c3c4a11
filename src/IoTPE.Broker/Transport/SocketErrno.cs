using System.Net.Sockets;

namespace IoTPE.Broker.Transport;

/// <summary>
/// Linux <c>errno</c> values of <c>send</c>/<c>recv</c> as the <see cref="SocketError"/> that .NET's
/// own socket calls report for them (its mapping is internal), so that a connection closed by
/// <see cref="SocketTransport"/>'s direct calls reads the same in the log. The numbers are the
/// generic Linux ones, shared by x86-64, arm64 and arm.
/// </summary>
internal static class SocketErrno
{
    public const int EINTR = 4;
    public const int EAGAIN = 11; // also EWOULDBLOCK

    /// <summary>The <see cref="SocketError"/> for <paramref name="errno"/>.</summary>
    public static SocketError ToSocketError(int errno) => errno switch
    {
        EAGAIN => SocketError.WouldBlock,
        EINTR => SocketError.Interrupted,
        9 => SocketError.OperationAborted, // EBADF: the socket was closed
        12 or 105 => SocketError.NoBufferSpaceAvailable, // ENOMEM, ENOBUFS
        32 => SocketError.Shutdown, // EPIPE: sending after the peer or we shut down
        90 => SocketError.MessageSize, // EMSGSIZE
        100 => SocketError.NetworkDown, // ENETDOWN
        101 => SocketError.NetworkUnreachable, // ENETUNREACH
        103 => SocketError.ConnectionAborted, // ECONNABORTED
        104 => SocketError.ConnectionReset, // ECONNRESET
        107 => SocketError.NotConnected, // ENOTCONN
        110 => SocketError.TimedOut, // ETIMEDOUT
        113 => SocketError.HostUnreachable, // EHOSTUNREACH
        _ => SocketError.SocketError,
    };
}
