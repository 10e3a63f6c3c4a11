using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Engine.Scripts;
using IoTPE.Mqtt;
using IoTPE.Scripting;

namespace IoTPE.Engine.Tests;

/// <summary>
/// A run's message reaches the script as a record (<see cref="ScriptMessage.ForRun"/>) on the hot path
/// and as JSON (<see cref="ScriptMessage.FromMessage"/>) where the JSON is needed: the script must not
/// be able to tell them apart, whatever the payload.
/// </summary>
public class ScriptMessageTests
{
    // Everything a script can observe of the message object: keys, values (deeply), descriptors,
    // types, and what a write or delete does to it.
    private const string Observe = """
        var seen = [JSON.stringify(message), Object.keys(message), JSON.stringify(Object.getOwnPropertyDescriptors(message)),
          typeof message.json, message.payload.length, Object.getPrototypeOf(message) === Object.prototype,
          message.json !== null && typeof message.json === 'object' ? Object.keys(message.json) : null,
          Object.keys(message.userProperties), Object.isExtensible(message)];
        message.payload = 'changed'; delete message.payloadBase64; message.extra = 1;
        seen.push(JSON.stringify(message));
        return seen;
        """;

    public static TheoryData<string, byte[]> Payloads => new()
    {
        { "a JSON object", """{"a":1,"b":[1,2,{"c":null}],"s":"quote \" é 😀","n":-0,"big":1e400}"""u8.ToArray() },
        { "a JSON number", "42"u8.ToArray() },
        { "a JSON string", "\"text\""u8.ToArray() },
        { "text that is not JSON", "hello"u8.ToArray() },
        { "JSON with trailing space", "1 "u8.ToArray() },
        { "JSON followed by more", "{}{}"u8.ToArray() },
        { "malformed UTF-8", [0xff, 0x41, 0xc3] },
        { "empty", [] },
        { "JSON 64 deep", Encoding.UTF8.GetBytes(new string('[', 64) + new string(']', 64)) },
        { "JSON 65 deep", Encoding.UTF8.GetBytes(new string('[', 65) + new string(']', 65)) },
        { "a lone surrogate escape", Encoding.UTF8.GetBytes("{\"x\":\"" + new string('p', 40) + "\\ud800\",\"y\":[\"\\udc00\"]}") },
        { "a large JSON document", Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Enumerable.Range(0, 200).ToDictionary(i => "k" + i, i => new string('v', i)))) },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void The_record_and_the_JSON_give_the_script_the_same_message(string payloadKind, byte[] payload)
    {
        var plain = new ApplicationMessage("/acme/run/rule", payload, QualityOfService.AtLeastOnce, retain: false)
        {
            PublisherUserName = "acme",
            PublisherClientId = "device-1",
        };
        var full = new ApplicationMessage("/acme/run/rule", payload, QualityOfService.ExactlyOnce, retain: true, new PublishProperties
        {
            ContentType = "application/json",
            ResponseTopic = "/acme/replies",
            CorrelationData = [0x01, 0xff, 0x41],
            UserProperties = [new UserProperty("k", "v"), new UserProperty("z", "1"), new UserProperty("k", "w")],
        });

        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("observe@1", new ScriptSource("observe", Observe)));
        foreach (ApplicationMessage message in new[] { plain, full })
        {
            ScriptRunResult fromJson = heap.Run("observe@1", ScriptMessage.FromMessage(message, "acme", "rule"), new NoHost());
            ScriptRunResult fromRecord = heap.Run("observe@1", ScriptMessage.ForRun(message, "acme", "rule"), new NoHost());

            Assert.True(fromJson.Completed, $"{payloadKind}: {fromJson.Error}");
            Assert.True(fromRecord.Completed, $"{payloadKind}: {fromRecord.Error}");
            Assert.Equal(fromJson.ResultJson, fromRecord.ResultJson);
        }
    }

    /// <summary>The payload's forms are what they say, not merely equal between the two paths.</summary>
    [Fact]
    public void The_record_gives_the_payload_as_text_parsed_JSON_and_base64()
    {
        var message = new ApplicationMessage("/acme/run/rule", "{\"a\":[1,2]}"u8.ToArray(), QualityOfService.AtLeastOnce, retain: false,
            new PublishProperties { CorrelationData = "id-7"u8.ToArray(), UserProperties = [new UserProperty("k", "v")] });
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("forms@1", new ScriptSource("forms", """
            return [message.topic, message.account, message.script, message.publisher, message.payload, message.json.a[1],
              message.payloadBase64, message.qos, message.retain, message.correlationData, message.correlationDataBase64,
              message.userProperties.k, message.contentType];
            """)));

        ScriptRunResult result = heap.Run("forms@1", ScriptMessage.ForRun(message, "acme", "rule"), new NoHost());

        Assert.True(result.Completed, result.Error?.ToString());
        Assert.Equal("""["/acme/run/rule","acme","rule",null,"{\"a\":[1,2]}",2,"eyJhIjpbMSwyXX0=",1,false,"id-7","aWQtNw==","v",null]""", result.ResultJson);
    }

    private sealed class NoHost : IScriptHost
    {
        public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result) =>
            throw new InvalidOperationException($"the script called {function}");
    }
}
