using IoTPE.Mqtt;

namespace IoTPE.Broker.Security;

/// <summary>
/// The authenticator of a broker without accounts: anonymous clients are let in when
/// <c>allowAnonymous</c> is set and refused otherwise; a client that sends credentials is refused,
/// since there is nothing to check them against.
/// </summary>
public sealed class AnonymousAuthenticator(bool allowAnonymous) : IAuthenticator
{
    /// <inheritdoc/>
    public ValueTask<AuthenticationResult> AuthenticateAsync(AuthenticationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.UserName is not null)
        {
            return ValueTask.FromResult(AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, "no accounts are configured"));
        }
        return ValueTask.FromResult(allowAnonymous
            ? AuthenticationResult.Accept(null)
            : AuthenticationResult.Refuse(ReasonCode.NotAuthorized, "anonymous clients are not allowed (start with --allow-anonymous)"));
    }
}
