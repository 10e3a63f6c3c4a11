using System.Net;
using System.Security.Cryptography.X509Certificates;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Security;

/// <summary>Decides whether a CONNECT may proceed. Runs outside the broker lock, so it may be slow (password hashing).</summary>
public interface IAuthenticator
{
    /// <summary>Checks the credentials of a CONNECT.</summary>
    ValueTask<AuthenticationResult> AuthenticateAsync(AuthenticationRequest request, CancellationToken cancellationToken);
}

/// <summary>The credentials and origin of a CONNECT.</summary>
/// <param name="ClientId">The client identifier from the CONNECT (empty if the client asked the broker to assign one).</param>
/// <param name="UserName">The User Name, if present.</param>
/// <param name="Password">The Password, if present.</param>
/// <param name="RemoteEndPoint">The client's address.</param>
/// <param name="Listener">The listener's name.</param>
/// <param name="ClientCertificate">The certificate the client presented over TLS, if any.</param>
public sealed record AuthenticationRequest(
    string ClientId,
    string? UserName,
    ReadOnlyMemory<byte>? Password,
    EndPoint? RemoteEndPoint,
    string Listener,
    X509Certificate2? ClientCertificate);

/// <summary>The outcome of authentication.</summary>
/// <param name="Succeeded">Whether the client may connect.</param>
/// <param name="UserName">The account the client is, when it succeeded and is not anonymous.</param>
/// <param name="ReasonCode">Why not: BadUserNameOrPassword (0x86), NotAuthorized (0x87), Banned (0x8A), ServerBusy (0x89)…</param>
/// <param name="Reason">A sentence for the log.</param>
public readonly record struct AuthenticationResult(bool Succeeded, string? UserName, ReasonCode ReasonCode, string? Reason)
{
    /// <summary>Accepts the client as <paramref name="userName"/> (null: anonymous).</summary>
    public static AuthenticationResult Accept(string? userName) => new(true, userName, ReasonCode.Success, null);

    /// <summary>Refuses the client.</summary>
    public static AuthenticationResult Refuse(ReasonCode reasonCode, string reason) => new(false, null, reasonCode, reason);
}
