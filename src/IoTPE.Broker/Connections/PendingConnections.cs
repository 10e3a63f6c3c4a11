using System.Net;
using System.Net.Sockets;

namespace IoTPE.Broker.Connections;

/// <summary>
/// The connections that have not completed CONNECT yet, which cost memory and a slot without
/// proving anything. Bounded twice, so that connections that never (or very slowly) send CONNECT
/// cannot take the room legitimate clients need: per address (an IPv6 address counts by its /64,
/// which one host usually owns), a new connection beyond the bound is refused; in total, the
/// oldest pending connection is closed to make room for a new one, so a flood ages itself out
/// while a legitimate client, which sends CONNECT within milliseconds, gets through.
/// Used under the broker lock.
/// </summary>
internal sealed class PendingConnections
{
    private readonly LinkedList<NetworkConnection> _byAge = new();
    private readonly Dictionary<IPAddress, int> _perAddress = [];
    private readonly int _maxTotal;
    private readonly int _maxPerAddress;

    public PendingConnections(int maxTotal, int maxPerAddress)
    {
        _maxTotal = maxTotal;
        _maxPerAddress = maxPerAddress;
    }

    public int Count => _byAge.Count;

    /// <summary>
    /// Adds a new connection, or returns false when its address already has the most pending
    /// connections allowed. <paramref name="evicted"/> is the oldest pending connection, removed
    /// to make room, which the caller closes.
    /// </summary>
    public bool TryAdd(NetworkConnection connection, out NetworkConnection? evicted)
    {
        evicted = null;
        IPAddress? bucket = Bucket(connection.RemoteEndPoint);
        if (bucket is not null && _perAddress.TryGetValue(bucket, out int count) && count >= _maxPerAddress)
        {
            return false;
        }
        if (_byAge.Count >= _maxTotal && _byAge.First is { } oldest)
        {
            evicted = oldest.Value;
            Remove(evicted);
        }
        connection.PendingEntry = _byAge.AddLast(connection);
        if (bucket is not null)
        {
            _perAddress[bucket] = _perAddress.GetValueOrDefault(bucket) + 1;
        }
        return true;
    }

    /// <summary>Forgets a connection that completed CONNECT or closed; nothing happens if it is not pending.</summary>
    public void Remove(NetworkConnection connection)
    {
        if (connection.PendingEntry is not { } entry)
        {
            return;
        }
        _byAge.Remove(entry);
        connection.PendingEntry = null;
        if (Bucket(connection.RemoteEndPoint) is { } bucket && _perAddress.TryGetValue(bucket, out int count))
        {
            if (count <= 1)
            {
                _perAddress.Remove(bucket);
            }
            else
            {
                _perAddress[bucket] = count - 1;
            }
        }
    }

    private static IPAddress? Bucket(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint { Address: var address })
        {
            return null;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8); // the /64 prefix
        return new IPAddress(bytes);
    }
}
