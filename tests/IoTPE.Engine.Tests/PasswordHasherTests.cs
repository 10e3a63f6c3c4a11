using System.Text;
using IoTPE.Engine.Accounts;

namespace IoTPE.Engine.Tests;

public class PasswordHasherTests
{
    private static bool Verify(string password, string hash) => PasswordHasher.Verify(Encoding.UTF8.GetBytes(password), hash);

    [Fact]
    public void A_hash_verifies_its_password_only()
    {
        string hash = PasswordHasher.Hash("correct horse", iterations: 1000);
        Assert.True(Verify("correct horse", hash));
        Assert.False(Verify("correct horse ", hash));
        Assert.False(Verify("", hash));
    }

    [Fact]
    public void Hashes_are_salted_and_carry_their_scheme_and_iterations()
    {
        string a = PasswordHasher.Hash("same", iterations: 1000);
        string b = PasswordHasher.Hash("same", iterations: 1000);
        Assert.NotEqual(a, b);
        Assert.StartsWith("pbkdf2-sha512$1000$", a, StringComparison.Ordinal);
        Assert.StartsWith("pbkdf2-sha512$" + PasswordHasher.DefaultIterations + "$", PasswordHasher.Hash("x"), StringComparison.Ordinal);
    }

    [Fact]
    public void Iterations_are_read_from_the_hash_so_old_hashes_keep_working()
    {
        string low = PasswordHasher.Hash("pw", iterations: 10);
        Assert.True(Verify("pw", low));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("md5$1$a$b")]
    [InlineData("pbkdf2-sha512$x$AAAA$AAAA")]
    [InlineData("pbkdf2-sha512$1000$not base64!$AAAA")]
    public void Malformed_hashes_never_verify(string hash) => Assert.False(Verify("anything", hash));
}
