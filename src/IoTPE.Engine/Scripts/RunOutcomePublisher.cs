using System.Buffers;
using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Mqtt;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Tells the caller how a run ended. The return value (as JSON; <c>null</c> when the script returned
/// nothing) goes to the MQTT 5.0 Response Topic of the request, with its Correlation Data, when the
/// requester may publish there; otherwise to <c>&lt;request topic&gt;/result</c>. A failure goes to
/// <c>&lt;request topic&gt;/error</c> as <c>{"error", "status", "line", "column", "script", "stack", "version"}</c> (stack only for runtime errors),
/// and also to the Response Topic, marked with the user property <c>status=error</c>.
/// </summary>
internal sealed class RunOutcomePublisher(ScriptServices services)
{
    /// <summary>A run finished (completed or failed).</summary>
    public void Publish(string requestTopic, ApplicationMessage? request, string account, string script, string? version, ScriptRunResult result)
    {
        if (result.Completed)
        {
            byte[] payload = Encoding.UTF8.GetBytes(result.ResultJson ?? "null");
            string? responseTopic = AllowedResponseTopic(request);
            Send(responseTopic ?? requestTopic + "/result", payload, request, responseTopic is not null, error: false);
            return;
        }
        ScriptError? error = result.Error;
        PublishFailure(requestTopic, request, account, script, version, result.Status.ToString(), error?.Message ?? "the run failed", error?.Position, error?.Stack);
    }

    /// <summary>The engine could not start the run (no such script, unreadable file, ...).</summary>
    public void PublishFailure(string requestTopic, ApplicationMessage? request, string account, string script, string? version, string status, string message, SourcePosition? position,
        string? stack = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteString("status", status);
            if (position is { } p)
            {
                json.WriteNumber("line", p.Line);
                if (p.Column is { } column)
                {
                    json.WriteNumber("column", column);
                }
                else
                {
                    json.WriteNull("column");
                }
            }
            else
            {
                json.WriteNull("line");
                json.WriteNull("column");
            }
            json.WriteString("script", script);
            if (stack is not null)
            {
                json.WriteString("stack", stack); // the script's frames, "    at f (calc:3:7)" per line
            }
            if (version is null)
            {
                json.WriteNull("version");
            }
            else
            {
                json.WriteString("version", version);
            }
            json.WriteEndObject();
        }
        byte[] payload = buffer.WrittenSpan.ToArray();
        services.Log.ScriptFailed(account, script, status, message);
        Send(requestTopic + "/error", payload, request, toResponseTopic: false, error: true);
        if (AllowedResponseTopic(request) is { } responseTopic)
        {
            Send(responseTopic, payload, request, toResponseTopic: true, error: true);
        }
    }

    /// <summary>
    /// A command run finished: its return value resolves the call on <c>&lt;topic&gt;/resolve</c>, a failure
    /// rejects it on <c>&lt;topic&gt;/reject</c>, in the wire format of IoTPE's client (docs/commands.md).
    /// </summary>
    public void PublishCommandOutcome(string callTopic, string messageId, string script, ScriptRunResult result)
    {
        if (result.Completed)
        {
            SendCommand(callTopic + "/resolve", messageId, json =>
            {
                json.WritePropertyName("result");
                json.WriteRawValue(result.ResultJson ?? "null", skipInputValidation: true);
            });
            return;
        }
        ScriptError? error = result.Error;
        services.Log.ScriptFailed(TopicAccount(callTopic), script, result.Status.ToString(), error?.Message ?? "failed");
        PublishCommandReject(callTopic, messageId, error?.Message ?? "the run failed", result.Status.ToString(), error?.Position);
    }

    /// <summary>Rejects a call: <c>{"messageId", "error": {"message", "code", "details": {"line", "column"}}}</c>.</summary>
    public void PublishCommandReject(string callTopic, string messageId, string message, string code, SourcePosition? position) =>
        SendCommand(callTopic + "/reject", messageId, json =>
        {
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("code", code);
            if (position is { } p)
            {
                json.WriteStartObject("details");
                json.WriteNumber("line", p.Line);
                if (p.Column is { } column)
                {
                    json.WriteNumber("column", column);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        });

    private void SendCommand(string topic, string messageId, Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("messageId", messageId);
            members(json);
            json.WriteEndObject();
        }
        var properties = new PublishProperties
        {
            ContentType = "application/json",
            PayloadFormatIndicator = PayloadFormatIndicator.Utf8,
            CorrelationData = Encoding.UTF8.GetBytes(messageId),
        };
        services.Broker.Publish(new ApplicationMessage(topic, buffer.WrittenSpan.ToArray(), QualityOfService.ExactlyOnce, retain: false, properties));
    }

    private static string TopicAccount(string topic) => topic.Split('/') is [_, var account, ..] ? account : "";

    private string? AllowedResponseTopic(ApplicationMessage? request)
    {
        if (request?.Properties?.ResponseTopic is not { } topic || !TopicName.IsValid(topic) || TopicName.IsDollarTopic(topic))
        {
            return null;
        }
        // The reply goes where the requester could have published itself, and nowhere else:
        // otherwise a request could make the engine write into a third account's namespace.
        var requester = new ClientIdentity(request.PublisherClientId ?? "", request.PublisherUserName, null, "response");
        return services.Authorizer.CanPublish(requester, topic) ? topic : null;
    }

    private void Send(string topic, byte[] payload, ApplicationMessage? request, bool toResponseTopic, bool error)
    {
        PublishProperties? properties = null;
        if (toResponseTopic || error)
        {
            properties = new PublishProperties
            {
                ContentType = "application/json",
                CorrelationData = toResponseTopic ? request?.Properties?.CorrelationData : null,
                UserProperties = [new UserProperty("status", error ? "error" : "ok")],
            };
        }
        services.Broker.Publish(new ApplicationMessage(topic, payload, QualityOfService.AtLeastOnce, retain: false, properties));
    }
}
