using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IoTPE.Client.Tests.Infrastructure;

namespace IoTPE.Client.Tests;

/// <summary>TLS (server verified against a private CA, client certificate) and user name/password, against Mosquitto.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly string _pki = Directory.CreateTempSubdirectory("iotpe-client-pki-").FullName;
    private readonly TestClients _clients = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _clients.DisposeAsync();
        Directory.Delete(_pki, recursive: true);
    }

    [Fact]
    public async Task Mutual_tls_with_a_private_ca_carries_messages_and_an_unknown_ca_is_refused()
    {
        using X509Certificate2 ca = CreateAuthority("CN=IoTPE test CA");
        WritePem("ca.crt", ca);
        WritePem("server", Issue(ca, "CN=127.0.0.1", server: true));
        WritePem("client", Issue(ca, "CN=gateway-1", server: false));
        using X509Certificate2 otherCa = CreateAuthority("CN=Somebody else");
        WritePem("other-ca.crt", otherCa);

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(extraConfig: string.Join('\n', [
            $"cafile {P("ca.crt")}", $"certfile {P("server.crt")}", $"keyfile {P("server.key")}", "require_certificate true"]));
        var tls = new MqttTlsOptions
        {
            CaCertificateFile = P("ca.crt"),
            ClientCertificateFile = P("client.crt"),
            ClientKeyFile = P("client.key"),
        };
        var log = new MessageLog();
        MqttClient subscriber = _clients.Create(_clients.Options(broker, TestClients.NewClientId("tls-sub")) with { Tls = tls });
        Task subscribed = subscriber.SubscribeAsync("secure/t", log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);
        MqttClient publisher = await _clients.StartAsync(_clients.Options(broker, TestClients.NewClientId("tls-pub")) with { Tls = tls });
        await publisher.PublishAsync("secure/t", "encrypted").WaitAsync(Timeout);
        Assert.True(await log.WaitForCountAsync(1));

        MqttClient untrusting = _clients.Create(_clients.Options(broker, TestClients.NewClientId("tls-other")) with { Tls = tls with { CaCertificateFile = P("other-ca.crt") } });
        await untrusting.StartAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => untrusting.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(1)));

        MqttClient anonymous = _clients.Create(_clients.Options(broker, TestClients.NewClientId("tls-nocert")) with { Tls = tls with { ClientCertificateFile = null, ClientKeyFile = null } });
        await anonymous.StartAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => anonymous.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_user_name_and_password_are_required_and_checked()
    {
        string passwords = P("passwords");
        ProcessRun created = await ProcessRun.RunAsync("mosquitto_passwd", ["-b", "-c", passwords, "gateway", "s3cret"]);
        Assert.True(created.ExitCode == 0, created.StandardError);
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(extraConfig: $"allow_anonymous false\npassword_file {passwords}");

        MqttClient good = await _clients.StartAsync(_clients.Options(broker, TestClients.NewClientId("auth")) with { UserName = "gateway", Password = "s3cret" });
        await good.PublishAsync("auth/t", "ok").WaitAsync(Timeout);

        MqttClient bad = _clients.Create(_clients.Options(broker, TestClients.NewClientId("auth-bad")) with { UserName = "gateway", Password = "wrong" });
        await bad.StartAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => bad.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.False(bad.IsConnected);
    }

    private string P(string name) => Path.Combine(_pki, name);

    private static X509Certificate2 CreateAuthority(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        byte[] serial = RandomNumberGenerator.GetBytes(8);
        using X509Certificate2 issued = request.Create(authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private void WritePem(string name, X509Certificate2 certificate)
    {
        if (name.EndsWith(".crt", StringComparison.Ordinal))
        {
            File.WriteAllText(P(name), certificate.ExportCertificatePem());
            return;
        }

        File.WriteAllText(P(name + ".crt"), certificate.ExportCertificatePem());
        File.WriteAllText(P(name + ".key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }
}
