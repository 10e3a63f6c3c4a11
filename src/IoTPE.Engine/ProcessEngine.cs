using System.Text;
using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Control;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Engine;

/// <summary>
/// The process engine of the seed's user model: accounts that own the topic namespace
/// <c>/&lt;account&gt;/...</c>, authentication and deny-by-default authorization for the broker, and
/// the control topics through which an account grants and revokes rights. Create it, build the
/// <see cref="Broker.Broker"/> with its <see cref="Authenticator"/> and <see cref="Authorizer"/>,
/// then <see cref="Attach"/> it to the broker.
/// </summary>
public sealed class ProcessEngine : IMessageInterceptor, IAsyncDisposable
{
    private readonly AccountDirectory _directory;
    private readonly GrantControl _grants;
    private readonly ILogger _log;
    private readonly Channel<ControlRequest> _requests = Channel.CreateUnbounded<ControlRequest>(new UnboundedChannelOptions { SingleReader = true });
    private Broker.Broker? _broker;
    private Task? _worker;

    /// <summary>Creates the engine over an account store.</summary>
    /// <param name="accounts">Accounts and grants.</param>
    /// <param name="allowAnonymous">Whether clients without credentials may connect (to topics outside every account's namespace).</param>
    /// <param name="logger">Where log lines go.</param>
    /// <param name="timeProvider">The clock.</param>
    public ProcessEngine(IAccountStore accounts, bool allowAnonymous, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        _log = logger ?? NullLogger.Instance;
        _directory = new AccountDirectory(accounts, TimeSpan.FromSeconds(1));
        _directory.Changed += () => _log.AccountsReloaded(_directory.Current.Count);
        _grants = new GrantControl(_directory);
        Authenticator = new AccountAuthenticator(_directory, allowAnonymous, new FailedLoginLimiter(timeProvider ?? TimeProvider.System));
        Authorizer = new AccountAuthorizer(_directory);
    }

    /// <summary>Checks CONNECT credentials against the accounts.</summary>
    public IAuthenticator Authenticator { get; }

    /// <summary>Enforces the account namespaces and grants.</summary>
    public IAuthorizer Authorizer { get; }

    /// <summary>The accounts and grants in memory.</summary>
    public AccountDirectory Accounts => _directory;

    /// <summary>Starts seeing the broker's messages.</summary>
    public void Attach(Broker.Broker broker)
    {
        ArgumentNullException.ThrowIfNull(broker);
        _broker = broker;
        broker.Interceptor = this;
        _worker = Task.Run(ProcessControlRequestsAsync);
    }

    /// <inheritdoc/>
    ReasonCode IMessageInterceptor.OnPublish(ClientIdentity publisher, ApplicationMessage message)
    {
        // Control topics are /<owner>/<action>: exactly three levels, the first empty.
        string topic = message.Topic;
        string? owner = TopicNamespace.OwnerOf(topic);
        if (owner is not null)
        {
            int actionStart = owner.Length + 2;
            if (actionStart < topic.Length && topic.IndexOf('/', actionStart) < 0)
            {
                string action = topic[actionStart..];
                if (GrantControl.IsControlTopic(action))
                {
                    // Handled off the broker lock: it writes the account store.
                    _requests.Writer.TryWrite(new ControlRequest(owner, action, publisher.UserName, message.Payload));
                }
            }
        }
        return ReasonCode.Success;
    }

    private async Task ProcessControlRequestsAsync()
    {
        await foreach (ControlRequest request in _requests.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            byte[] result;
            try
            {
                result = _grants.Handle(request.Owner, request.Action, request.Publisher, request.Payload.Span);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _log.ControlFailed(request.Owner, e.Message);
                result = Encoding.UTF8.GetBytes($$"""{"ok":false,"request":"{{request.Action}}","error":"internal error"}""");
            }
            _log.ControlHandled(request.Owner, request.Action, Encoding.UTF8.GetString(result));
            _broker?.Publish(new ApplicationMessage("/" + request.Owner + "/" + GrantControl.ResultTopic, result, QualityOfService.AtLeastOnce, retain: false));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        if (_worker is not null)
        {
            await _worker.ConfigureAwait(false);
        }
        _directory.Dispose();
        (Authenticator as IDisposable)?.Dispose();
    }

    private sealed record ControlRequest(string Owner, string Action, string? Publisher, ReadOnlyMemory<byte> Payload);
}
