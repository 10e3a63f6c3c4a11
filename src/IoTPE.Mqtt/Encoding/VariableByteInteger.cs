namespace IoTPE.Mqtt;

/// <summary>
/// Variable Byte Integer (spec 1.5.5): 7 bits per byte, least significant first, bit 7 set when more bytes
/// follow, at most 4 bytes, and always the minimum number of bytes [MQTT-1.5.5-1].
/// </summary>
public static class VariableByteInteger
{
    /// <summary>The largest value a Variable Byte Integer can hold (268,435,455).</summary>
    public const int MaxValue = 268_435_455;

    /// <summary>The most bytes a Variable Byte Integer can take.</summary>
    public const int MaxSize = 4;

    /// <summary>The number of bytes needed to encode <paramref name="value"/> (1 to 4).</summary>
    /// <param name="value">0 to <see cref="MaxValue"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The value cannot be encoded.</exception>
    public static int GetSize(int value)
    {
        if ((uint)value > MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A Variable Byte Integer holds 0 to 268,435,455.");
        }

        return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
    }

    /// <summary>Writes <paramref name="value"/> to the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="GetSize"/> bytes.</param>
    /// <param name="value">0 to <see cref="MaxValue"/>.</param>
    /// <returns>The number of bytes written.</returns>
    public static int Write(Span<byte> destination, int value)
    {
        int size = GetSize(value);
        if (destination.Length < size)
        {
            throw new ArgumentException("The destination is too small.", nameof(destination));
        }

        int index = 0;
        uint remaining = (uint)value;
        while (remaining >= 0x80)
        {
            destination[index++] = (byte)(remaining | 0x80);
            remaining >>= 7;
        }

        destination[index++] = (byte)remaining;
        return index;
    }

    /// <summary>Reads a Variable Byte Integer from the start of <paramref name="source"/>.</summary>
    /// <param name="source">The bytes to read.</param>
    /// <param name="value">The value read.</param>
    /// <param name="bytesRead">The number of bytes the encoding took.</param>
    /// <returns>
    /// <see cref="FrameStatus.Complete"/>; <see cref="FrameStatus.NeedMoreData"/> when <paramref name="source"/> ends
    /// inside the encoding; <see cref="FrameStatus.Error"/> when it is longer than 4 bytes or not minimal.
    /// </returns>
    public static FrameStatus TryRead(ReadOnlySpan<byte> source, out int value, out int bytesRead)
    {
        value = 0;
        bytesRead = 0;
        int result = 0;
        for (int index = 0; index < MaxSize; index++)
        {
            if (index >= source.Length)
            {
                return FrameStatus.NeedMoreData;
            }

            byte current = source[index];
            result |= (current & 0x7F) << (7 * index);
            if ((current & 0x80) == 0)
            {
                // A trailing zero byte after a continuation is a longer than necessary encoding [MQTT-1.5.5-1].
                if (current == 0 && index > 0)
                {
                    return FrameStatus.Error;
                }

                value = result;
                bytesRead = index + 1;
                return FrameStatus.Complete;
            }
        }

        return FrameStatus.Error;
    }
}
