using System.Text.Unicode;

namespace IoTPE.Mqtt;

/// <summary>
/// UTF-8 Encoded String rules (spec 1.5.4): well-formed UTF-8 without surrogate code points, no U+0000, and
/// at most 65,535 bytes. Receivers treat violations as a Malformed Packet.
/// </summary>
public static class MqttString
{
    /// <summary>The most bytes a UTF-8 Encoded String (and Binary Data) can hold.</summary>
    public const int MaxByteCount = ushort.MaxValue;

    /// <summary>Whether <paramref name="utf8"/> is well-formed UTF-8 without U+0000 (length is not checked).</summary>
    /// <param name="utf8">The string's bytes, without the length prefix.</param>
    public static bool IsValid(ReadOnlySpan<byte> utf8) => utf8.IndexOf((byte)0) < 0 && Utf8.IsValid(utf8);

    /// <summary>Whether <paramref name="value"/> can be sent as a UTF-8 Encoded String: no U+0000, no unpaired surrogate, at most 65,535 bytes.</summary>
    /// <param name="value">The string to check.</param>
    public static bool IsValid(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryGetByteCount(value.AsSpan(), out _);
    }

    /// <summary>Counts the UTF-8 bytes of <paramref name="value"/>; false when it holds U+0000, an unpaired surrogate or more than 65,535 bytes.</summary>
    /// <param name="value">The characters to check.</param>
    /// <param name="byteCount">The UTF-8 byte count when valid.</param>
    public static bool TryGetByteCount(ReadOnlySpan<char> value, out int byteCount)
    {
        byteCount = 0;
        if (value.IndexOf('\0') >= 0)
        {
            return false;
        }

        if (System.Text.Ascii.IsValid(value))
        {
            byteCount = value.Length;
            return byteCount <= MaxByteCount;
        }

        int count = 0;
        for (int index = 0; index < value.Length; index++)
        {
            char current = value[index];
            if (current < 0x80)
            {
                count += 1;
            }
            else if (current < 0x800)
            {
                count += 2;
            }
            else if (char.IsHighSurrogate(current))
            {
                if (index + 1 >= value.Length || !char.IsLowSurrogate(value[index + 1]))
                {
                    return false;
                }

                count += 4;
                index++;
            }
            else if (char.IsLowSurrogate(current))
            {
                return false;
            }
            else
            {
                count += 3;
            }
        }

        byteCount = count;
        return count <= MaxByteCount;
    }

    /// <summary>The UTF-8 byte count of <paramref name="value"/> for encoding.</summary>
    /// <exception cref="ArgumentException">The string is longer than 65,535 UTF-8 bytes.</exception>
    internal static int GetEncodedByteCount(string value)
    {
        int count = System.Text.Encoding.UTF8.GetByteCount(value);
        if (count > MaxByteCount)
        {
            throw new ArgumentException("An MQTT string holds at most 65,535 UTF-8 bytes.", nameof(value));
        }

        return count;
    }

    /// <summary>Decodes bytes that were already validated with <see cref="IsValid(ReadOnlySpan{byte})"/>.</summary>
    internal static string Decode(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(utf8);
}
