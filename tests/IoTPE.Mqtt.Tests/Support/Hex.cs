namespace IoTPE.Mqtt.Tests;

/// <summary>Hex strings for test data; spaces are ignored so packets can be written field by field.</summary>
internal static class Hex
{
    public static byte[] Parse(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
