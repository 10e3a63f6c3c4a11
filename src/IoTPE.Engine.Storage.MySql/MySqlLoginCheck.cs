using System.Text;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// The central engine's password check: the database server checks it, by a login as the account's
/// user over a connection of its own that is not pooled (a pool would keep the password in its
/// connection string) and is closed at once. Access denied (1045) is a wrong password; a server that
/// cannot be reached is <see cref="PasswordCheckOutcome.Unavailable"/>, which the broker answers
/// with Server unavailable (0x88; 3.1.1: 3), so a client is never told its right password is wrong.
/// </summary>
public sealed class MySqlLoginCheck : IPasswordCheck
{
    private readonly string _server;
    private readonly TimeSpan _connectTimeout;

    /// <summary>Logs in to the server of <paramref name="serviceConnectionString"/> (its host, port and TLS settings; not its user).</summary>
    /// <param name="serviceConnectionString">The service user's connection string.</param>
    /// <param name="connectTimeout">How long a login may take before the server counts as unreachable (default 5 s).</param>
    public MySqlLoginCheck(string serviceConnectionString, TimeSpan? connectTimeout = null)
    {
        var builder = new MySqlConnectionStringBuilder(serviceConnectionString)
        {
            UserID = "",
            Password = "",
            Database = "",
            Pooling = false,
        };
        _connectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5);
        builder.ConnectionTimeout = (uint)Math.Max(1, Math.Ceiling(_connectTimeout.TotalSeconds));
        _server = builder.ConnectionString;
    }

    /// <inheritdoc/>
    public bool AccountsAppearOutsideTheStore => true;

    /// <inheritdoc/>
    public async ValueTask<PasswordCheckOutcome> CheckAsync(Account account, ReadOnlyMemory<byte> password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(password.Span);
        }
        catch (DecoderFallbackException)
        {
            return PasswordCheckOutcome.Wrong; // a database password is text
        }
        var builder = new MySqlConnectionStringBuilder(_server) { UserID = account.Name, Password = text };
        await using var connection = new MySqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return PasswordCheckOutcome.Right;
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.AccessDenied or MySqlErrorCode.PasswordNoMatch or MySqlErrorCode.DatabaseAccessDenied)
        {
            return PasswordCheckOutcome.Wrong;
        }
        catch (MySqlException)
        {
            return PasswordCheckOutcome.Unavailable; // unreachable, too many connections, shutting down: nothing was checked
        }
    }
}
