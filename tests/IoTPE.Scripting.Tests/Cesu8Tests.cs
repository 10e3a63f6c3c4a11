using System.Text;
using IoTPE.Scripting.Interop;

namespace IoTPE.Scripting.Tests;

public class Cesu8Tests
{
    [Fact]
    public void Decodes_ascii_and_bmp_characters()
    {
        Assert.Equal("aé日", Cesu8.Decode([0x61, 0xC3, 0xA9, 0xE6, 0x97, 0xA5]));
    }

    [Fact]
    public void Decodes_a_surrogate_pair_encoded_separately()
    {
        // U+1F600 in CESU-8: D83D and DE00, each as a 3-byte sequence.
        Assert.Equal("😀", Cesu8.Decode([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]));
    }

    [Fact]
    public void Decodes_a_four_byte_utf8_sequence_too()
    {
        Assert.Equal("😀", Cesu8.Decode([0xF0, 0x9F, 0x98, 0x80]));
    }

    [Fact]
    public void Truncated_input_becomes_a_replacement_character_not_an_exception()
    {
        Assert.Equal("a\uFFFD", Cesu8.Decode([0x61, 0xE6]));
    }
}

public class Cesu8TranscodingTests
{
    [Fact]
    public void Encode_writes_each_UTF16_code_unit_on_its_own()
    {
        Assert.Equal([0x61, 0xC3, 0xA9, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], Cesu8.Encode("aé😀"));
    }

    [Fact]
    public void FromUtf8_returns_BMP_only_input_unchanged_and_splits_astral_characters()
    {
        byte[] bmp = "aé日"u8.ToArray();
        Assert.True(Cesu8.FromUtf8(bmp) == bmp.AsSpan());
        Assert.Equal([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], Cesu8.FromUtf8("😀"u8).ToArray());
    }

    [Fact]
    public void FromUtf8_replaces_malformed_input()
    {
        Assert.Equal("a\uFFFD", Cesu8.Decode(Cesu8.FromUtf8([0x61, 0xFF])));
    }

    [Fact]
    public void ToUtf8_joins_surrogate_pairs_and_replaces_lone_surrogates()
    {
        Assert.Equal("😀"u8.ToArray(), Cesu8.ToUtf8([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]));
        Assert.Equal("a\uFFFD"u8.ToArray(), Cesu8.ToUtf8([0x61, 0xED, 0xA0, 0x80]));
        Assert.Equal("plain"u8.ToArray(), Cesu8.ToUtf8("plain"u8));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ascii")]
    [InlineData("aé日😀🇩🇪𝄞")]
    public void Round_trips(string text)
    {
        Assert.Equal(text, Cesu8.Decode(Cesu8.Encode(text)));
        Assert.Equal(text, Encoding.UTF8.GetString(Cesu8.ToUtf8(Cesu8.FromUtf8(Encoding.UTF8.GetBytes(text)))));
    }
}
