using System.Buffers;
using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Commands;
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
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A run finished (completed or failed).</summary>
    public void Publish(RunRequest request, ScriptRunResult result)
    {
        if (result.Completed)
        {
            byte[] payload = Encoding.UTF8.GetBytes(result.ResultJson ?? "null");
            string? responseTopic = AllowedResponseTopic(request.Message);
            Send(responseTopic ?? request.Topic + "/result", payload, request.Message, responseTopic is not null, error: false);
            return;
        }
        PublishFailure(request, RunFailure.Of(result));
    }

    /// <summary>The run failed, or the engine could not start it (no such script, unreadable file, ...).</summary>
    public void PublishFailure(RunRequest request, RunFailure failure)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("error", failure.Message);
            json.WriteString("status", failure.Status.ToWire());
            if (failure.Position is { } p)
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
            json.WriteString("script", request.Script);
            if (failure.Stack is not null)
            {
                json.WriteString("stack", failure.Stack); // the script's frames, "    at f (calc:3:7)" per line
            }
            if (request.Version is null)
            {
                json.WriteNull("version");
            }
            else
            {
                json.WriteString("version", request.Version);
            }
            json.WriteEndObject();
        }
        byte[] payload = buffer.WrittenSpan.ToArray();
        services.Log.ScriptFailed(request.Account, request.Script, failure.Status.ToWire(), failure.Message);
        Send(request.Topic + "/error", payload, request.Message, toResponseTopic: false, error: true);
        if (AllowedResponseTopic(request.Message) is { } responseTopic)
        {
            Send(responseTopic, payload, request.Message, toResponseTopic: true, error: true);
        }
    }

    /// <summary>
    /// A command run finished: its return value resolves the call on <c>&lt;topic&gt;/resolve</c>, a failure
    /// rejects it on <c>&lt;topic&gt;/reject</c>, in the shared wire format (<see cref="CommandWireFormat"/>).
    /// </summary>
    public void PublishCommandOutcome(RunRequest request, string messageId, ScriptRunResult result)
    {
        if (result.Completed)
        {
            SendCommand(request.Topic + CommandWireFormat.ResolveSuffix, messageId,
                CommandWireFormat.Resolve(messageId, json => json.WriteRawValue(result.ResultJson ?? "null", skipInputValidation: true)));
            return;
        }
        RunFailure failure = RunFailure.Of(result);
        services.Log.ScriptFailed(request.Account, request.Script, failure.Status.ToWire(), result.Error?.Message ?? "failed");
        PublishCommandReject(request.Topic, messageId, failure with { Stack = null });
    }

    /// <summary>Rejects a call: <c>{"messageId", "error": {"message", "code", "details": {"line", "column"}}}</c>, details only with a position.</summary>
    public void PublishCommandReject(string callTopic, string messageId, RunFailure failure)
    {
        Action<Utf8JsonWriter>? details = failure.Position is not { } p ? null : json =>
        {
            json.WriteStartObject();
            json.WriteNumber("line", p.Line);
            if (p.Column is { } column)
            {
                json.WriteNumber("column", column);
            }
            json.WriteEndObject();
        };
        SendCommand(callTopic + CommandWireFormat.RejectSuffix, messageId, CommandWireFormat.Reject(messageId, failure.Message, failure.Status.ToWire(), details));
    }

    private void SendCommand(string topic, string messageId, byte[] payload)
    {
        var properties = new PublishProperties
        {
            ContentType = CommandWireFormat.ContentType,
            PayloadFormatIndicator = PayloadFormatIndicator.Utf8,
            CorrelationData = Encoding.UTF8.GetBytes(messageId),
        };
        services.Broker.Publish(new ApplicationMessage(topic, payload, QualityOfService.ExactlyOnce, retain: false, properties));
    }

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
