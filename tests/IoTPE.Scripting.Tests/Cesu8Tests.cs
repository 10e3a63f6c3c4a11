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
