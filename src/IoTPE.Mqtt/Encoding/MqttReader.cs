using System.Buffers.Binary;

namespace IoTPE.Mqtt;

/// <summary>
/// Reads the data types of spec 1.5 from a packet body. Every read checks the remaining length first, so
/// decoding never reads past its input; a false return means the field is truncated or invalid.
/// </summary>
internal ref struct MqttReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public MqttReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Offset of the next unread byte.</summary>
    public readonly int Position => _position;

    /// <summary>Bytes left to read.</summary>
    public readonly int Remaining => _buffer.Length - _position;

    /// <summary>Whether every byte has been read.</summary>
    public readonly bool End => _position == _buffer.Length;

    /// <summary>The bytes not read yet.</summary>
    public readonly ReadOnlySpan<byte> RemainingSpan => _buffer[_position..];

    /// <summary>Peeks at the next byte without consuming it.</summary>
    public readonly bool TryPeekByte(out byte value)
    {
        if (_position < _buffer.Length)
        {
            value = _buffer[_position];
            return true;
        }

        value = 0;
        return false;
    }

    public bool TryReadByte(out byte value)
    {
        if (_position < _buffer.Length)
        {
            value = _buffer[_position++];
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Two Byte Integer, big-endian (spec 1.5.2).</summary>
    public bool TryReadUInt16(out ushort value)
    {
        if (BinaryPrimitives.TryReadUInt16BigEndian(_buffer[_position..], out value))
        {
            _position += 2;
            return true;
        }

        return false;
    }

    /// <summary>Four Byte Integer, big-endian (spec 1.5.3).</summary>
    public bool TryReadUInt32(out uint value)
    {
        if (BinaryPrimitives.TryReadUInt32BigEndian(_buffer[_position..], out value))
        {
            _position += 4;
            return true;
        }

        return false;
    }

    /// <summary>Variable Byte Integer (spec 1.5.5); false when truncated, too long or not minimal.</summary>
    public bool TryReadVariableByteInteger(out int value)
    {
        if (VariableByteInteger.TryRead(_buffer[_position..], out value, out int bytesRead) == FrameStatus.Complete)
        {
            _position += bytesRead;
            return true;
        }

        return false;
    }

    /// <summary>Skips <paramref name="count"/> bytes, returning where they start.</summary>
    public bool TryReadBytes(int count, out int offset)
    {
        offset = _position;
        if ((uint)count > (uint)Remaining)
        {
            return false;
        }

        _position += count;
        return true;
    }

    /// <summary>Binary Data (spec 1.5.6): a two byte length then that many bytes; returns where the bytes start.</summary>
    public bool TryReadBinary(out int offset, out int length)
    {
        offset = 0;
        length = 0;
        int start = _position;
        if (!TryReadUInt16(out ushort prefix) || !TryReadBytes(prefix, out offset))
        {
            _position = start;
            return false;
        }

        length = prefix;
        return true;
    }

    /// <summary>Binary Data copied into a new array.</summary>
    public bool TryReadBinary(out byte[] value)
    {
        if (TryReadBinary(out int offset, out int length))
        {
            value = _buffer.Slice(offset, length).ToArray();
            return true;
        }

        value = [];
        return false;
    }

    /// <summary>A UTF-8 Encoded String (spec 1.5.4), validated but not decoded; returns where its bytes start.</summary>
    public bool TryReadUtf8(out int offset, out int length, out MqttDecodeError error)
    {
        if (!TryReadBinary(out offset, out length))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        if (!MqttString.IsValid(_buffer.Slice(offset, length)))
        {
            error = DecodeErrors.InvalidString;
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>A UTF-8 Encoded String (spec 1.5.4), validated and decoded.</summary>
    public bool TryReadString(out string value, out MqttDecodeError error)
    {
        if (TryReadUtf8(out int offset, out int length, out error))
        {
            value = MqttString.Decode(_buffer.Slice(offset, length));
            return true;
        }

        value = string.Empty;
        return false;
    }

    /// <summary>The bytes at an offset returned by an earlier read.</summary>
    public readonly ReadOnlySpan<byte> Slice(int offset, int length) => _buffer.Slice(offset, length);
}
