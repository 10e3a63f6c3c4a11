using System.Text;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime.Descriptors;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// Builds the script's <c>message</c> from a <see cref="RunMessage"/>: one object of a fixed layout
/// (Jint's <see cref="JsObjectLayout"/>: one hidden class per engine, values in slots), whose payload
/// forms are produced on first read.
/// </summary>
/// <remarks>
/// Encoding the message to JSON and reading it back was most of a small rule's run: of ~130 thousand
/// instructions per run on the script worker (callgrind, <c>/acme/run/rule</c> at 100 runs/s), ~15
/// went to writing the JSON and ~42 to reading it, mostly the payload's three forms, of which the rule
/// read one. The object is indistinguishable from the JSON path's: same keys in the same order, plain
/// data properties, the same values (a test compares the two over many messages).
/// </remarks>
internal static class RunMessageObject
{
    private static readonly JsObjectLayout Layout = CreateLayout();

    public static JsObject Create(Engine engine, RunMessage message)
    {
        ReadOnlySpan<JsValue?> values =
        [
            new JsString(message.Topic),
            new JsString(message.Account),
            new JsString(message.Script),
            StringOrNull(message.Publisher),
            StringOrNull(message.ClientId),
            null, // payload
            null, // json
            null, // payloadBase64
            JsNumber.Create(message.QoS),
            message.Retain ? JsBoolean.True : JsBoolean.False,
            StringOrNull(message.ContentType),
            StringOrNull(message.ResponseTopic),
            null, // correlationData
            null, // correlationDataBase64
            null, // userProperties
        ];
        return JsObject.Create(engine, Layout, values!, message);
    }

    private static JsObjectLayout CreateLayout()
    {
        JsObjectLayout.Builder layout = JsObjectLayout.CreateBuilder();
        layout.Add("topic");
        layout.Add("account");
        layout.Add("script");
        layout.Add("publisher");
        layout.Add("clientId");
        layout.AddLazy("payload", static (_, state) => new JsString(Encoding.UTF8.GetString(((RunMessage)state!).Payload.Span)));
        layout.AddLazy("json", static (instance, state) => ReadJson(instance.Engine, ((RunMessage)state!).Payload.Span));
        layout.AddLazy("payloadBase64", static (_, state) => new JsString(Convert.ToBase64String(((RunMessage)state!).Payload.Span)));
        layout.Add("qos");
        layout.Add("retain");
        layout.Add("contentType");
        layout.Add("responseTopic");
        layout.AddLazy("correlationData", static (_, state) => ((RunMessage)state!).CorrelationData is { } data
            ? new JsString(Encoding.UTF8.GetString(data.Span))
            : JsValue.Null);
        layout.AddLazy("correlationDataBase64", static (_, state) => ((RunMessage)state!).CorrelationData is { } data
            ? new JsString(Convert.ToBase64String(data.Span))
            : JsValue.Null);
        layout.AddLazy("userProperties", static (instance, state) => ReadUserProperties(instance.Engine, ((RunMessage)state!).UserProperties));
        return layout.Build();
    }

    private static JsValue StringOrNull(string? value) => value is null ? JsValue.Null : new JsString(value);

    // As the JSON path: the payload when it is one JSON value (read as a run's message is), else null.
    private static JsValue ReadJson(Engine engine, ReadOnlySpan<byte> payload)
    {
        if (!RunMessage.PayloadIsJson(payload))
        {
            return JsValue.Null;
        }
        if (MessageReader.TryRead(engine, fallback: null, payload, out JsValue value))
        {
            return value;
        }
        return new JsonParser(engine).Parse(Encoding.UTF8.GetString(payload)); // a lone surrogate escape
    }

    private static JsObject ReadUserProperties(Engine engine, IReadOnlyList<KeyValuePair<string, string>> properties)
    {
        var result = new JsObject(engine);
        foreach (KeyValuePair<string, string> property in properties)
        {
            result.FastSetProperty(property.Key, new PropertyDescriptor(new JsString(property.Value), PropertyFlag.ConfigurableEnumerableWritable));
        }
        return result;
    }
}
