namespace IoTPE.Scripting;

/// <summary>A place in a script's source text, as an editor shows it: 1-based line and column.</summary>
/// <param name="Line">The line, counting from 1.</param>
/// <param name="Column">
/// The column in characters (Unicode code points), counting from 1; <see langword="null"/> when
/// only the line is known.
/// </param>
public readonly record struct SourcePosition(int Line, int? Column)
{
    /// <summary>
    /// The position of the character at <paramref name="utf8Offset"/> in <paramref name="utf8"/>.
    /// Line terminators are those of ECMAScript: LF, CR, CR LF, U+2028 and U+2029.
    /// </summary>
    public static SourcePosition At(ReadOnlySpan<byte> utf8, int utf8Offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(utf8Offset);
        int end = Math.Min(utf8Offset, utf8.Length);
        int line = 1, column = 1;
        for (int i = 0; i < end;)
        {
            byte b = utf8[i];
            if (b == (byte)'\n')
            {
                line++; column = 1; i++;
            }
            else if (b == (byte)'\r')
            {
                // CR LF counts once: the LF that follows ends the same line.
                if (i + 1 < end && utf8[i + 1] == (byte)'\n')
                {
                    i++;
                }
                line++; column = 1; i++;
            }
            else if (b == 0xE2 && i + 2 < utf8.Length && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9))
            {
                line++; column = 1; i += 3;
            }
            else
            {
                column++;
                i += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
            }
        }
        return new SourcePosition(line, column);
    }

    /// <summary>
    /// The position of the UTF-16 code unit at <paramref name="index"/> in <paramref name="text"/>,
    /// with the same line terminators as <see cref="At(ReadOnlySpan{byte}, int)"/>; a surrogate
    /// pair counts as one column.
    /// </summary>
    public static SourcePosition At(string text, int index)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        int end = Math.Min(index, text.Length);
        int line = 1, column = 1;
        for (int i = 0; i < end; i++)
        {
            char c = text[i];
            if (c == '\r' && i + 1 < end && text[i + 1] == '\n')
            {
                continue; // CR LF counts once, at the LF
            }
            if (c is '\n' or '\r' or '\u2028' or '\u2029')
            {
                line++; column = 1;
            }
            else if (!char.IsLowSurrogate(c) || i == 0 || !char.IsHighSurrogate(text[i - 1]))
            {
                column++;
            }
        }
        return new SourcePosition(line, column);
    }

    /// <inheritdoc/>
    public override string ToString() => Column is { } column ? $"{Line}:{column}" : $"{Line}";
}
