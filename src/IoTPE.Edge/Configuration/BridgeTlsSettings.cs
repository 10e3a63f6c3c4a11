using IoTPE.Client;

namespace IoTPE.Edge.Configuration;

/// <summary>The <c>tls</c> object of a bridge: the CA to trust, and a client certificate if the remote asks for one.</summary>
public sealed class BridgeTlsSettings
{
    /// <summary>PEM file of the CA the remote's certificate must chain to; omitted: the system's trust store.</summary>
    public string? CaFile { get; set; }

    /// <summary>PEM (with <see cref="KeyFile"/>) or PKCS#12 client certificate, if the remote asks for one.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file of the client certificate's private key.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The name the remote's certificate must carry; default the bridge's address.</summary>
    public string? ServerName { get; set; }

    /// <summary>Checks that the files named exist.</summary>
    /// <exception cref="ConfigurationException">A file is missing; the message names the key.</exception>
    public void Validate(string where)
    {
        Exists(CaFile, where + ".caFile");
        Exists(CertificateFile, where + ".certificateFile");
        Exists(KeyFile, where + ".keyFile");
        if (KeyFile is not null && CertificateFile is null)
        {
            throw new ConfigurationException($"{where}.keyFile needs {where}.certificateFile");
        }
    }

    private static void Exists(string? path, string key)
    {
        if (path is not null && !File.Exists(path))
        {
            throw new ConfigurationException($"{key}: no such file {path}");
        }
    }

    /// <summary>The client's TLS options.</summary>
    public MqttTlsOptions ToOptions() => new()
    {
        CaCertificateFile = CaFile,
        ClientCertificateFile = CertificateFile,
        ClientKeyFile = KeyFile,
        TargetHost = ServerName,
    };
}
