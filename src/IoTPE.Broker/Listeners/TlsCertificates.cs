using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Broker.Listeners;

/// <summary>Loads a listener's certificate and key from PEM files, the way gateways usually have them.</summary>
internal static class TlsCertificates
{
    public static X509Certificate2 LoadServerCertificate(string certificateFile, string keyFile)
    {
        if (!File.Exists(certificateFile))
        {
            throw new FileNotFoundException($"TLS certificate file not found: {certificateFile}", certificateFile);
        }
        if (!File.Exists(keyFile))
        {
            throw new FileNotFoundException($"TLS key file not found: {keyFile}", keyFile);
        }
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        // SslStream on Linux needs the key in an exportable, PKCS#12-backed certificate.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
