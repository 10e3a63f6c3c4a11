namespace IoTPE.Scripting.Interop;

/// <summary>
/// Decodes Duktape's internal string encoding. Duktape stores strings as CESU-8: each UTF-16 code
/// unit, surrogates included, encoded on its own, so a character outside the BMP is two 3-byte
/// sequences that a strict UTF-8 decoder would reject.
/// </summary>
internal static class Cesu8
{
    public static unsafe string Decode(byte* bytes, nuint length)
    {
        if (bytes == null || length == 0)
        {
            return string.Empty;
        }
        var input = new ReadOnlySpan<byte>(bytes, checked((int)length));
        return Decode(input);
    }

    public static string Decode(ReadOnlySpan<byte> input)
    {
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
}
