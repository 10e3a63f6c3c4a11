using System.Text;
using IoTPE.Client.Logging;
using IoTPE.Client.Session;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Transport;

/// <summary>
/// Keeps the session connected: connects (clean start off, so the broker resumes the session), runs the connection
/// until it breaks, and reconnects after <see cref="MqttClientOptions.ReconnectBackoff"/> — exponential with jitter,
/// reset once a connection stayed up for ten seconds. While the broker cannot be reached at all, a bare TCP connection
/// attempt every <see cref="MqttClientOptions.ReconnectProbeInterval"/> cuts the wait short once it is back (the
/// backoff protects a broker that is up from being hammered; a refused TCP connection costs it nothing). Every change
/// is reported to <see cref="MqttClient.ConnectionStateChanged"/>.
/// </summary>
internal sealed class ConnectionSupervisor
{
    private const long StableConnectionMs = 10_000;

    private readonly ClientSession _session;
    private readonly MqttClientOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private MqttConnection? _current;
    private bool _closing;
    private Task _loop = Task.CompletedTask;

    private readonly Action<ConnectionStateChangedEventArgs> _report;

    public ConnectionSupervisor(ClientSession session, Action<ConnectionStateChangedEventArgs> report)
    {
        _session = session;
        _options = session.Options;
        _logger = session.Logger;
        _report = report;
    }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Ends the current connection with DISCONNECT and stops reconnecting.</summary>
    public async Task StopAsync()
    {
        bool connected;
        lock (_gate)
        {
            _closing = true;
            connected = _current is not null;
            _current?.Close();
        }

        Task stopped = _loop;
        if (connected)
        {
            try
            {
                await stopped.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); // DISCONNECT gets this long to go out.
            }
            catch (TimeoutException)
            {
                // Stop now.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await stopped.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        CancellationToken stop = _stop.Token;
        int failures = 0;
        long connectedAt = 0;
        while (!stop.IsCancellationRequested && !IsClosing)
        {
            MqttConnection? connection = null;
            Exception? lost = null;
            try
            {
                connection = await MqttConnection.OpenAsync(_options, CreateConnect(), stop).ConfigureAwait(false);
                lock (_gate)
                {
                    if (stop.IsCancellationRequested || _closing)
                    {
                        break;
                    }

                    _current = connection;
                }

                connectedAt = Environment.TickCount64;
                ClientLog.Connected(_logger, _options.Host, _options.Port, _options.ProtocolVersion, connection.ConnAck.SessionPresent);
                _session.Attach(connection);
                _report(new ConnectionStateChangedEventArgs(true, connection.ConnAck.SessionPresent, null, null));
                await connection.RunAsync(_session, stop).ConfigureAwait(false);
            }
            catch (Exception) when (stop.IsCancellationRequested || IsClosing)
            {
                break;
            }
            catch (Exception ex)
            {
                if (connection is not null && ReferenceEquals(_current, connection))
                {
                    ClientLog.ConnectionLost(_logger, ex);
                    lost = ex;
                }
                else
                {
                    failures++;
                    TimeSpan delay = _options.ReconnectBackoff.GetDelay(failures);
                    ClientLog.ConnectFailed(_logger, ex, _options.Host, _options.Port, delay);
                    _report(new ConnectionStateChangedEventArgs(false, false, ex, delay));
                    if (!await WaitBeforeReconnectAsync(delay, probe: IsUnreachable(ex), stop).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }
            }
            finally
            {
                if (connection is not null)
                {
                    _session.Detach(connection);
                    lock (_gate)
                    {
                        _current = null;
                    }

                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }

            // A connection was up and ended. The backoff starts over only if it lasted a while, so a broker that accepts
            // and then drops the client (e.g. another client with the same identifier takes the session over) is not
            // hammered.
            failures = Environment.TickCount64 - connectedAt >= StableConnectionMs ? 1 : failures + 1;
            if (IsClosing)
            {
                break;
            }

            TimeSpan retry = _options.ReconnectBackoff.GetDelay(failures);
            _report(new ConnectionStateChangedEventArgs(false, false, lost ?? new IOException("The connection ended."), retry));
            // No probing here: the broker may be up and dropping this client (e.g. a session takeover), which the backoff
            // must slow down; if it is down, the next attempt fails at TCP level and probing starts then.
            if (!await WaitBeforeReconnectAsync(retry, probe: false, stop).ConfigureAwait(false))
            {
                break;
            }
        }

        _report(new ConnectionStateChangedEventArgs(false, false, null, null));
    }

    /// <summary>Whether a connection attempt failed before reaching any broker (so probing for its return is cheap and useful).</summary>
    private static bool IsUnreachable(Exception error) => error is System.Net.Sockets.SocketException or TimeoutException;

    /// <summary>
    /// Waits <paramref name="delay"/>; with <paramref name="probe"/>, returns early once a TCP connection to the broker
    /// succeeds. False when stopped.
    /// </summary>
    private async Task<bool> WaitBeforeReconnectAsync(TimeSpan delay, bool probe, CancellationToken stop)
    {
        if (!probe || _options.ReconnectProbeInterval is not { } interval)
        {
            return await DelayAsync(delay, stop).ConfigureAwait(false);
        }

        long deadline = Environment.TickCount64 + (long)delay.TotalMilliseconds;
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                return true;
            }

            if (!await DelayAsync(TimeSpan.FromMilliseconds(Math.Min(remaining, interval.TotalMilliseconds)), stop).ConfigureAwait(false))
            {
                return false;
            }

            if (Environment.TickCount64 < deadline && await IsReachableAsync(interval, stop).ConfigureAwait(false))
            {
                return true;
            }
        }
    }

    /// <summary>Whether a bare TCP connection to the broker succeeds within <paramref name="timeout"/> (closed at once).</summary>
    private async Task<bool> IsReachableAsync(TimeSpan timeout, CancellationToken stop)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop);
        limit.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(_options.Host, _options.Port, limit.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private bool IsClosing
    {
        get
        {
            lock (_gate)
            {
                return _closing;
            }
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private ConnectPacket CreateConnect()
    {
        bool version5 = _options.ProtocolVersion == MqttProtocolVersion.V500;
        return new ConnectPacket(_options.ProtocolVersion, _options.ClientId)
        {
            CleanStart = false,
            KeepAlive = (ushort)_options.KeepAlive.TotalSeconds,
            UserName = _options.UserName,
            Password = _options.Password is null ? null : Encoding.UTF8.GetBytes(_options.Password),
            Will = _options.Will,
            SessionExpiryInterval = version5 ? _options.SessionExpirySeconds : null,
            ReceiveMaximum = version5 ? _options.ReceiveMaximum : null,
        };
    }
}
