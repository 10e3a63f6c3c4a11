using System.Globalization;
using System.Text;

namespace IoTPE.TestSupport;

/// <summary>
/// A QoS 2 publisher written out by hand (MQTT 3.1.1 over <see cref="RawConnection"/>), so that the
/// test decides what is resent after a broker dies: numbered messages on one topic, packet
/// identifier = number (so at most 65,535 of them), a window in flight. It records which numbers got
/// PUBREC (the broker took responsibility, MQTT-4.3.3) and which completed with PUBCOMP.
/// </summary>
public sealed class QoS2Publisher(string clientId, string topic, string? userName = null, string? password = null)
{
    private const int Window = 200;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Numbers whose PUBLISH went out and got no PUBREC yet: resent with DUP on reconnect (MQTT-4.4.0-1).</summary>
    public SortedSet<int> Unreceived { get; } = [];

    /// <summary>Numbers that got PUBREC but no PUBCOMP yet: their PUBREL is resent on reconnect.</summary>
    public SortedSet<int> Unreleased { get; } = [];

    /// <summary>Every number the broker acknowledged with PUBREC.</summary>
    public HashSet<int> Acknowledged { get; } = [];

    /// <summary>The next number never sent.</summary>
    public int Next { get; private set; } = 1;

    /// <summary>
    /// Connects with a persistent session, resends what the previous connection left open, and
    /// publishes up to <paramref name="last"/> until done or until <paramref name="stopAfterAcknowledged"/>
    /// PUBRECs were counted in all (then returns with messages still in flight). Throws when the
    /// connection breaks or the broker answers what it should not.
    /// </summary>
    public async Task RunAsync(int port, int last, int stopAfterAcknowledged = int.MaxValue)
    {
        using RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, 4, cleanStart: false, userName, password));
        (byte type, byte[] body) = await connection.ReadPacketAsync(Patience);
        Expect(type == 0x20 && body[1] == 0, $"CONNACK accepted, got type {type >> 4} code {(body.Length > 1 ? body[1] : -1)}");
        // In order, as first sent (MQTT-4.6.0-1): PUBRELs of what was received, PUBLISH DUP of the rest.
        foreach (int number in Unreleased)
        {
            await connection.SendAsync(PubRel(number));
        }
        foreach (int number in Unreceived)
        {
            await connection.SendAsync(Publish(number, dup: true));
        }
        while (Next <= last && Unreceived.Count + Unreleased.Count < Window)
        {
            await SendNextAsync(connection);
        }
        while ((Unreceived.Count > 0 || Unreleased.Count > 0) && Acknowledged.Count < stopAfterAcknowledged)
        {
            (type, body) = await connection.ReadPacketAsync(Patience);
            int number = (body[0] << 8) | body[1];
            switch (type)
            {
                case 0x50: // PUBREC
                    Expect(Unreceived.Remove(number) || Unreleased.Contains(number), $"PUBREC for {number}, not in flight");
                    Unreleased.Add(number);
                    Acknowledged.Add(number);
                    await connection.SendAsync(PubRel(number));
                    break;
                case 0x70: // PUBCOMP
                    Unreleased.Remove(number);
                    if (Next <= last)
                    {
                        await SendNextAsync(connection);
                    }
                    break;
                default:
                    Expect(false, $"unexpected packet type {type >> 4}");
                    break;
            }
        }
    }

    private async Task SendNextAsync(RawConnection connection)
    {
        Unreceived.Add(Next);
        await connection.SendAsync(Publish(Next, dup: false));
        Next++;
    }

    private byte[] Publish(int number, bool dup)
    {
        var body = new List<byte>();
        RawMqtt.AddString(body, topic);
        body.AddRange([(byte)(number >> 8), (byte)number]);
        body.AddRange(Encoding.ASCII.GetBytes(number.ToString(CultureInfo.InvariantCulture)));
        return RawMqtt.Packet((byte)(dup ? 0x3C : 0x34), body);
    }

    private static byte[] PubRel(int number) => [0x62, 0x02, (byte)(number >> 8), (byte)number];

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("QoS 2 publisher: " + what);
        }
    }
}
