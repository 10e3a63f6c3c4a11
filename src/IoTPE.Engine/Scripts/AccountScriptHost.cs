using System.Diagnostics;
using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Mqtt;
using IoTPE.Scripting;
using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// What <c>publish</c>, <c>db</c>, <c>kv</c>, <c>gpio</c> and <c>log</c> mean for one run of one account's script:
/// publishing only where the account may publish, the account's own database, key-value
/// entries and pins, and the engine's log.
/// </summary>
internal sealed class AccountScriptHost : IScriptPublisher
{
    private readonly ScriptServices _services;
    private readonly string _account;
    private readonly string _script;
    private readonly ClientIdentity _identity;
    private readonly int _hops;
    private long _startTimestamp;

    /// <param name="services">What host calls reach.</param>
    /// <param name="account">The account whose script runs.</param>
    /// <param name="script">The script's name.</param>
    /// <param name="hops">The run's place in a chain of runs started by scripts (0: requested by a client or a schedule).</param>
    public AccountScriptHost(ScriptServices services, string account, string script, int hops = 0)
    {
        _services = services;
        _account = account;
        _script = script;
        _hops = hops;
        _identity = new ClientIdentity(ClientIdentity.InternalClientIdPrefix + "script/" + account + "/" + script, account, null, "script");
    }

    public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result)
    {
        if (_startTimestamp == 0)
        {
            _startTimestamp = Stopwatch.GetTimestamp();
        }
        switch (function)
        {
            case ScriptHostFunction.Publish:
                Publish(arguments);
                break;
            case ScriptHostFunction.DbQuery:
                Database(arguments, result, query: true);
                break;
            case ScriptHostFunction.DbExec:
                Database(arguments, result, query: false);
                break;
            case ScriptHostFunction.KvGet:
                if (_services.KeyValues.Get(_account, arguments[0].GetString()!) is { } stored)
                {
                    result.WriteRawValue(stored, skipInputValidation: true);
                }
                break;
            case ScriptHostFunction.KvSet:
                KvSet(arguments[0].GetString()!, arguments[1].GetRawText());
                break;
            case ScriptHostFunction.KvRemove:
                result.WriteBooleanValue(_services.KeyValues.Remove(_account, arguments[0].GetString()!));
                break;
            case ScriptHostFunction.GpioRead:
                result.WriteNumberValue(PinsOrRefuse().Read(_account, arguments[0].GetString()!));
                break;
            case ScriptHostFunction.GpioWrite:
                PinsOrRefuse().Write(_account, arguments[0].GetString()!, arguments[1].GetInt32());
                break;
            case ScriptHostFunction.Log:
                _services.Log.ScriptLog(LevelOf(arguments[0].GetString()), _account, _script, arguments[1].GetString() ?? "");
                break;
            default:
                throw new ScriptHostException($"{function} is not available");
        }
    }

    private void Publish(JsonElement arguments) =>
        Publish(arguments[0].GetString()!, arguments[1].GetString() ?? "", arguments[2].GetInt32(), arguments[3].GetBoolean());

    /// <summary>A script's publish, without the JSON round trip of <see cref="Invoke"/>.</summary>
    public void Publish(string topic, string payloadText, int qos, bool retain)
    {
        if (_startTimestamp == 0)
        {
            _startTimestamp = Stopwatch.GetTimestamp();
        }
        if (!TopicName.IsValid(topic) || TopicName.IsDollarTopic(topic))
        {
            throw new ScriptHostException($"publish: '{topic}' is not a topic a script can publish to");
        }
        if (!_services.Authorizer.CanPublish(_identity, topic))
        {
            throw new ScriptHostException($"publish: account {_account} may not publish to '{topic}'");
        }
        byte[] payload = Encoding.UTF8.GetBytes(payloadText);
        PublishProperties? properties = null;
        if (RunHops.IsRunTopic(topic, out string target))
        {
            CheckRunRequest(topic, target);
            properties = RunHops.Next(_hops);
        }
        var message = new ApplicationMessage(topic, payload, (QualityOfService)qos, retain, properties)
        {
            PublisherUserName = _account,
            PublisherClientId = _identity.ClientId,
        };
        switch (_services.Broker.TryPublish(message))
        {
            case PublishOutcome.QueueFull:
                throw new ScriptHostException($"publish: '{topic}' refused: a subscriber's queue is full");
            case PublishOutcome.DiskReserveReached:
                throw new ScriptHostException($"publish: '{topic}' refused: disk reserve reached (storage.diskReserveBytes); the data folder's file system is nearly full");
            case PublishOutcome.RetainedQuotaExceeded:
                string problem = $"publish: the retained messages under /{TopicOwner(topic)}/ would exceed their quota of {_services.Options.MaxRetainedBytesPerAccount} bytes (engine.maxRetainedBytesPerAccount); nothing was published";
                _services.Log.QuotaExceeded(_account, problem);
                throw new ScriptHostException(problem);
        }
    }

    private IScriptPins PinsOrRefuse() =>
        _services.Pins ?? throw new ScriptHostException("gpio: this gateway has no pins (the gpio section of the configuration file)");

    private static string TopicOwner(string topic) => Security.TopicNamespace.OwnerOf(topic) ?? topic;

    private void KvSet(string key, string json)
    {
        KeyValueQuota quota = _services.Options.KeyValueQuota;
        KeyValueSetOutcome outcome = _services.KeyValues.Set(_account, key, json, quota);
        string? problem = outcome switch
        {
            KeyValueSetOutcome.Stored => null,
            KeyValueSetOutcome.TooManyKeys => $"kv.set: the account already has {quota.MaxKeys} keys (engine.maxKeysPerAccount)",
            KeyValueSetOutcome.TooManyBytes => $"kv.set: the account's kv entries would take more than their quota of {quota.MaxBytes} bytes (engine.maxKvBytesPerAccount); nothing was stored",
            _ => $"kv.set: the account {_account} no longer exists",
        };
        if (outcome is KeyValueSetOutcome.TooManyKeys or KeyValueSetOutcome.TooManyBytes)
        {
            _services.Log.QuotaExceeded(_account, problem!);
        }
        if (problem is not null)
        {
            throw new ScriptHostException(problem);
        }
    }

    // A script that publishes to a run topic starts another run: such chains stop at a hop limit
    // (a script requesting its own run would otherwise run forever), and a full run queue refuses
    // the request here as it refuses a client's.
    private void CheckRunRequest(string topic, string target)
    {
        int limit = _services.Options.MaxRunHops;
        if (_hops + 1 > limit)
        {
            _services.Log.RunHopLimit(_account, _script, topic, _hops + 1, limit);
            throw new ScriptHostException($"publish: '{topic}' would start a run {_hops + 1} hops from a client's request; the limit is {limit} (engine.maxRunHops)");
        }
        if (_services.RunQueues is { } queues && !queues.Admits(target, out int queued, out long refused))
        {
            _services.Log.RunQueueFull(target, topic, queued, refused);
            throw new ScriptHostException($"publish: '{topic}' refused: account {target} has {queued} run requests queued (engine.maxQueuedRunsPerAccount)");
        }
    }

    private void Database(JsonElement arguments, Utf8JsonWriter result, bool query)
    {
        string sql = arguments[0].GetString()!;
        JsonElement parameters = arguments.GetArrayLength() > 1 ? arguments[1] : default;
        TimeSpan remaining = _services.Options.Limits.RunTimeout - Stopwatch.GetElapsedTime(_startTimestamp);
        try
        {
            if (query)
            {
                _services.Databases.Query(_account, sql, parameters, result, remaining);
            }
            else
            {
                _services.Databases.Execute(_account, sql, parameters, result, remaining);
            }
        }
        catch (AccountDatabaseException e)
        {
            throw new ScriptHostException(e.Message);
        }
    }

    private static LogLevel LevelOf(string? level) => level switch
    {
        "error" => LogLevel.Error,
        "warn" => LogLevel.Warning,
        "debug" => LogLevel.Debug,
        _ => LogLevel.Information,
    };
}
