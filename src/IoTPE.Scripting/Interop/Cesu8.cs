using System.Text;
using System.Text.Unicode;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// Duktape's internal string encoding. Duktape stores strings as CESU-8: each UTF-16 code unit,
/// surrogates included, encoded on its own, so a character outside the BMP is two 3-byte
/// sequences that a strict UTF-8 decoder would reject. Text handed to the engine must be CESU-8
/// too: a 4-byte UTF-8 sequence would become one "character" of length 1 inside the engine,
/// unlike the two UTF-16 code units JavaScript defines. Every byte crossing the boundary goes
/// through this class.
/// </summary>
internal static class Cesu8
{
    /// <summary>Decodes engine bytes into a .NET string.</summary>
    public static unsafe string Decode(byte* bytes, nuint length)
    {
        if (bytes == null || length == 0)
        {
            return string.Empty;
        }
        var input = new ReadOnlySpan<byte>(bytes, checked((int)length));
        return Decode(input);
    }

    /// <summary>Decodes engine bytes into a .NET string; malformed sequences become U+FFFD.</summary>
    public static string Decode(ReadOnlySpan<byte> input)
    {
        if (IsAsciiOnly(input))
        {
            return Encoding.ASCII.GetString(input);
        }
        // Never more UTF-16 code units than input bytes.
        char[] output = new char[input.Length];
        int n = 0;
        for (int i = 0; i < input.Length;)
        {
            byte b = input[i];
            if (b < 0x80)
            {
                output[n++] = (char)b;
                i++;
            }
            else if (b >= 0xC0 && b < 0xE0 && i + 1 < input.Length)
            {
                output[n++] = (char)(((b & 0x1F) << 6) | (input[i + 1] & 0x3F));
                i += 2;
            }
            else if (b >= 0xE0 && b < 0xF0 && i + 2 < input.Length)
            {
                output[n++] = (char)(((b & 0x0F) << 12) | ((input[i + 1] & 0x3F) << 6) | (input[i + 2] & 0x3F));
                i += 3;
            }
            else if (b >= 0xF0 && b < 0xF8 && i + 3 < input.Length)
            {
                int codePoint = ((b & 0x07) << 18) | ((input[i + 1] & 0x3F) << 12) | ((input[i + 2] & 0x3F) << 6) | (input[i + 3] & 0x3F);
                if (codePoint > 0xFFFF && codePoint <= 0x10FFFF)
                {
                    codePoint -= 0x10000;
                    output[n++] = (char)(0xD800 + (codePoint >> 10));
                    output[n++] = (char)(0xDC00 + (codePoint & 0x3FF));
                }
                else
                {
                    output[n++] = '\uFFFD';
                }
                i += 4;
            }
            else
            {
                output[n++] = '\uFFFD';
                i++;
            }
        }
        return new string(output, 0, n);
    }

    /// <summary>Encodes a .NET string for the engine: each UTF-16 code unit on its own.</summary>
    public static byte[] Encode(ReadOnlySpan<char> text)
    {
        int length = 0;
        foreach (char c in text)
        {
            length += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        }
        byte[] output = new byte[length];
        int n = 0;
        foreach (char c in text)
        {
            if (c < 0x80)
            {
                output[n++] = (byte)c;
            }
            else if (c < 0x800)
            {
                output[n++] = (byte)(0xC0 | (c >> 6));
                output[n++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                output[n++] = (byte)(0xE0 | (c >> 12));
                output[n++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                output[n++] = (byte)(0x80 | (c & 0x3F));
            }
        }
        return output;
    }

    /// <summary>
    /// UTF-8 for the engine: the input itself when it is valid UTF-8 without characters outside
    /// the BMP (the common case), else a transcoded copy in which malformed input became U+FFFD.
    /// </summary>
    public static ReadOnlySpan<byte> FromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IndexOfAnyInRange((byte)0xF0, (byte)0xFF) < 0 && Utf8.IsValid(utf8))
        {
            return utf8;
        }
        return Encode(Encoding.UTF8.GetString(utf8));
    }

    /// <summary>
    /// Engine bytes as UTF-8: surrogate pairs joined into 4-byte sequences, lone surrogates and
    /// malformed input replaced by U+FFFD. Always a copy.
    /// </summary>
    public static byte[] ToUtf8(ReadOnlySpan<byte> cesu8)
    {
        // 0xED leads every encoded surrogate; without one, valid input is already UTF-8.
        if (cesu8.IndexOf((byte)0xED) < 0 && Utf8.IsValid(cesu8))
        {
            return cesu8.ToArray();
        }
        return Encoding.UTF8.GetBytes(Decode(cesu8));
    }

    private static bool IsAsciiOnly(ReadOnlySpan<byte> input) => input.IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0;
}
