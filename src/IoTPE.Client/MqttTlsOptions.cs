namespace IoTPE.Client;

/// <summary>
/// TLS settings for the connection to the broker (<see cref="MqttClientOptions.Tls"/>). A record; its
/// <see cref="object.ToString"/> leaves the certificate password out.
/// </summary>
public sealed record MqttTlsOptions
{
    /// <summary>The name the server certificate must carry; defaults to <see cref="MqttClientOptions.Host"/>.</summary>
    public string? TargetHost { get; init; }

    /// <summary>
    /// A PEM file of CA certificates that alone are trusted to issue the server's certificate (instead of the system
    /// store), e.g. a gateway's private CA.
    /// </summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>The client certificate for mutual TLS: a PEM certificate file (with <see cref="ClientKeyFile"/>) or a PKCS#12 file.</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="ClientCertificateFile"/>; null when that file is PKCS#12 or holds the key itself.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>The password of a PKCS#12 <see cref="ClientCertificateFile"/>, if any.</summary>
    public string? ClientCertificatePassword { get; init; }

    /// <summary>Accept any server certificate. For tests only: it makes TLS open to interception.</summary>
    public bool AllowUntrustedServerCertificate { get; init; }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("TargetHost = ").Append(TargetHost).Append(", CaCertificateFile = ").Append(CaCertificateFile)
            .Append(", ClientCertificateFile = ").Append(ClientCertificateFile).Append(", ClientKeyFile = ").Append(ClientKeyFile)
            .Append(", AllowUntrustedServerCertificate = ").Append(AllowUntrustedServerCertificate);
        return true;
    }
}
