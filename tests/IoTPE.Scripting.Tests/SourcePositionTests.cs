using System.Text;

namespace IoTPE.Scripting.Tests;

public class SourcePositionTests
{
    private static SourcePosition At(string text, string marker)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        int offset = Encoding.UTF8.GetByteCount(text.AsSpan(0, text.IndexOf(marker, StringComparison.Ordinal)));
        return SourcePosition.At(utf8, offset);
    }

    [Theory]
    [InlineData("@", 1, 1)]
    [InlineData("ab@", 1, 3)]
    [InlineData("a\nb\n  @", 3, 3)]
    [InlineData("a\r\nb\r\n@", 3, 1)]
    [InlineData("a\rb\r@", 3, 1)]
    [InlineData("a\u2028b\u2029@", 3, 1)]
    [InlineData("äöü@", 1, 4)]
    [InlineData("日本@", 1, 3)]
    [InlineData("😀@", 1, 2)]
    public void Counts_lines_and_characters_like_an_editor(string text, int line, int column)
    {
        Assert.Equal(new SourcePosition(line, column), At(text, "@"));
    }

    [Fact]
    public void An_offset_past_the_end_is_the_end()
    {
        Assert.Equal(new SourcePosition(2, 2), SourcePosition.At("a\nb"u8, 99));
    }
}
