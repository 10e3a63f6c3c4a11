using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Client.Transport;

/// <summary>Turns <see cref="MqttTlsOptions"/> into the settings of the TLS handshake.</summary>
internal static class TlsAuthentication
{
    public static SslClientAuthenticationOptions Create(MqttClientOptions options)
    {
        MqttTlsOptions tls = options.Tls!;
        var settings = new SslClientAuthenticationOptions
        {
            TargetHost = tls.TargetHost ?? options.Host,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (tls.ClientCertificateFile is { } certificateFile)
        {
            settings.ClientCertificates = [LoadClientCertificate(certificateFile, tls.ClientKeyFile, tls.ClientCertificatePassword)];
        }

        if (tls.AllowUntrustedServerCertificate)
        {
            settings.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (tls.CaCertificateFile is { } caFile)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caFile);
            settings.RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsIssuedBy(certificate, errors, authorities);
        }

        return settings;
    }

    private static X509Certificate2 LoadClientCertificate(string file, string? keyFile, string? password)
    {
        string extension = Path.GetExtension(file);
        if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(file, password);
        }

        return X509Certificate2.CreateFromPemFile(file, keyFile);
    }

    /// <summary>Whether the server's certificate chains to one of <paramref name="authorities"/> and names the host.</summary>
    private static bool IsIssuedBy(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        X509Certificate2 server = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(server);
    }
}
