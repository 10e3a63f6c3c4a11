using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace IoTPE.Engine.Accounts;

/// <summary>
/// Salted PBKDF2-SHA512 password hashes in the form <c>pbkdf2-sha512$ITERATIONS$SALT$HASH</c>
/// (Base64). The iteration count is stored per hash, so it can be raised later without breaking
/// existing passwords; verification compares in constant time.
/// </summary>
public static class PasswordHasher
{
    private const string Scheme = "pbkdf2-sha512";
    private const int SaltBytes = 16;
    private const int HashBytes = 64;

    /// <summary>Iterations for new hashes (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA512).</summary>
    public const int DefaultIterations = 210_000;

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt.</summary>
    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Checks <paramref name="password"/> (UTF-8 bytes, as MQTT carries it) against a stored hash.</summary>
    public static bool Verify(ReadOnlySpan<byte> password, string storedHash)
    {
        ArgumentNullException.ThrowIfNull(storedHash);
        string[] parts = storedHash.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations < 1)
        {
            return false;
        }
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
