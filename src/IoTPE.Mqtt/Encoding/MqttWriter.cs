using System.Buffers.Binary;

namespace IoTPE.Mqtt;

/// <summary>
/// Writes the data types of spec 1.5 into a caller's buffer. Packets check the destination's size before
/// writing, so the writer itself does not.
/// </summary>
internal ref struct MqttWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public MqttWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void WriteByte(byte value) => _buffer[_position++] = value;

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
        _position += 2;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_position..], value);
        _position += 4;
    }

    public void WriteVariableByteInteger(int value) => _position += VariableByteInteger.Write(_buffer[_position..], value);

    /// <summary>The fixed header (spec 2.1.1): type and flags, then the Remaining Length.</summary>
    public void WriteFixedHeader(PacketType type, byte flags, int remainingLength)
    {
        WriteByte((byte)(((byte)type << 4) | flags));
        WriteVariableByteInteger(remainingLength);
    }

    /// <summary>Raw bytes without a length prefix.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer[_position..]);
        _position += value.Length;
    }

    /// <summary>Binary Data or an already encoded UTF-8 string: a two byte length then the bytes.</summary>
    public void WriteBinary(ReadOnlySpan<byte> value)
    {
        WriteUInt16(checked((ushort)value.Length));
        WriteBytes(value);
    }

    /// <summary>A UTF-8 Encoded String: a two byte length then the UTF-8 bytes.</summary>
    public void WriteString(string value)
    {
        int length = System.Text.Encoding.UTF8.GetBytes(value, _buffer[(_position + 2)..]);
        WriteUInt16(checked((ushort)length));
        _position += length;
    }
}
