using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace IoTPE.Scripting.Tests;

/// <summary>
/// A host that takes typed publishes (<see cref="IScriptPublisher"/>, as the engine's does) sees the
/// same values, limits and failures as one that gets every publish as JSON; and a message given as
/// UTF-8 bytes (parsed without decoding it first) reaches the script as the decoded text would.
/// </summary>
public sealed class TypedPublishTests
{
    private sealed class TypedHost : IScriptPublisher
    {
        public ConcurrentQueue<(string Topic, string Payload, int Qos, bool Retain)> Publishes { get; } = new();

        public Func<string, Exception?> Fail { get; set; } = _ => null;

        public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result) =>
            throw new InvalidOperationException($"{function} should not come through Invoke here");

        public void Publish(string topic, string payload, int qos, bool retain)
        {
            if (Fail(topic) is { } failure)
            {
                throw failure;
            }
            Publishes.Enqueue((topic, payload, qos, retain));
        }
    }

    private static (string Topic, string Payload, int Qos, bool Retain) ViaJson(string script)
    {
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(script, host: host);
        Assert.True(result.Completed, $"{result.Status}: {result.Error}");
        using JsonDocument arguments = JsonDocument.Parse(Assert.Single(host.CallsOf(ScriptHostFunction.Publish)).Arguments);
        JsonElement a = arguments.RootElement;
        return (a[0].GetString()!, a[1].GetString()!, a[2].GetInt32(), a[3].GetBoolean());
    }

    private static (string Topic, string Payload, int Qos, bool Retain) Typed(string script)
    {
        var host = new TypedHost();
        ScriptRunResult result = ScriptRunner.Run(script, host: host);
        Assert.True(result.Completed, $"{result.Status}: {result.Error}");
        return Assert.Single(host.Publishes);
    }

    [Theory]
    [InlineData("publish('/acme/out', { seq: 1, t: 1712345678901234, sum: 7 }, { qos: 1 });")]
    [InlineData("publish('/acme/out', 'text', { retain: true, qos: 2 });")]
    [InlineData("publish('/acme/out', '');")]
    [InlineData("publish('/acme/out', [1, 'two', null, { x: '\"quoted\" \\\\ \\n' }], null);")]
    [InlineData("publish('/acme/out', 'é ✓ 😀 \\u0001');")]
    [InlineData("publish('/acme/\\uD800x', 'lone \\uDC00 surrogates \\uD83D');")]
    [InlineData("publish('/acme/out', { s: 'lone \\uD800 in JSON' });")]
    [InlineData("publish('/acme/out', { toJSON: function () { return 42; } }, { qos: 0, retain: false });")]
    public void A_typed_publish_gets_what_the_json_path_gets(string script)
    {
        Assert.Equal(ViaJson(script), Typed(script));
    }

    [Fact]
    public void Typed_publishes_count_against_the_publish_limit()
    {
        var host = new TypedHost();
        ScriptRunResult result = ScriptRunner.Run("for (var i = 0; i < 101; i++) publish('/acme/out', 'x');", host: host);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("RangeError: publish limit reached: at most 100 publishes per run", result.Error!.Message);
        Assert.Equal(100, host.Publishes.Count);
    }

    [Fact]
    public void A_typed_publish_too_large_is_refused_with_its_size_as_json()
    {
        var limits = ScriptLimits.Default with { MaxHostCallBytes = 1024 };
        var typed = new TypedHost();
        var json = new RecordingHost();
        const string Script = "publish('/acme/out', 'x'.repeat(1000) + '\\n'.repeat(500));";
        ScriptRunResult viaTyped = ScriptRunner.Run(Script, host: typed, limits: limits);
        ScriptRunResult viaJson = ScriptRunner.Run(Script, host: json, limits: limits);
        Assert.Equal(ScriptRunStatus.Threw, viaTyped.Status);
        Assert.Equal(viaJson.Error!.Message, viaTyped.Error!.Message);
        Assert.Equal("RangeError: publish: arguments too large: 2024 bytes as JSON, the limit is 1024", viaTyped.Error.Message); // each \n counts 2
        Assert.Empty(typed.Publishes);

        // Just under the limit by its JSON size, though the quick bound (6 bytes a character) is over it.
        ScriptRunResult fits = ScriptRunner.Run("publish('/acme/out', 'x'.repeat(900));", host: typed, limits: limits);
        Assert.True(fits.Completed, $"{fits.Status}: {fits.Error}");
        Assert.Equal(900, Assert.Single(typed.Publishes).Payload.Length);
    }

    [Fact]
    public void A_typed_host_failure_reaches_the_script_as_for_the_json_path()
    {
        var host = new TypedHost { Fail = topic => topic == "/acme/denied" ? new ScriptHostException("publish: denied") : new InvalidOperationException("secret detail") };
        ScriptRunResult denied = ScriptRunner.Run("try { publish('/acme/denied', 'x'); } catch (e) { return e.message; }", host: host);
        Assert.Equal("\"publish: denied\"", denied.ResultJson);

        ScriptRunResult broken = ScriptRunner.Run("try { publish('/acme/other', 'x'); } catch (e) { return e.message; }", host: host);
        Assert.Equal("\"publish failed\"", broken.ResultJson);
        Assert.IsType<InvalidOperationException>(broken.HostException);
    }

    [Theory]
    [InlineData("{\"text\":\"é ✓ 😀\",\"n\":1712345678901234,\"list\":[1,2.5,null,true]}")]
    [InlineData("{\"nested\":{\"a\":{\"b\":[{}]}},\"escaped\":\"\\u00e9\\ud83d\\ude00\\n\"}")]
    public void A_utf8_message_reaches_the_script_as_its_text_would(string message)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("echo@1", new ScriptSource("echo.js", "return message;")));
        ScriptRunResult fromBytes = heap.Run("echo@1", Encoding.UTF8.GetBytes(message), new RecordingHost());
        ScriptRunResult fromText = heap.Run("echo@1", message, new RecordingHost());
        Assert.True(fromBytes.Completed, $"{fromBytes.Status}: {fromBytes.Error}");
        Assert.Equal(fromText.ResultJson, fromBytes.ResultJson);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'"', 0xC3, (byte)'"', (byte)'}' })] // malformed UTF-8 in a string
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'é', (byte)'"', (byte)':' })] // not JSON
    [InlineData(new byte[] { 0xE2, 0x9C, 0x93, (byte)'x' })] // not JSON, non-ASCII first
    public void A_utf8_message_fails_or_decodes_as_its_text_would(byte[] message)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("echo@1", new ScriptSource("echo.js", "return message;")));
        ScriptRunResult fromBytes = heap.Run("echo@1", message, new RecordingHost());
        ScriptRunResult fromText = heap.Run("echo@1", Encoding.UTF8.GetString(message), new RecordingHost());
        Assert.Equal(fromText.Status, fromBytes.Status);
        Assert.Equal(fromText.ResultJson, fromBytes.ResultJson);
        Assert.Equal(fromText.Error?.Message, fromBytes.Error?.Message);
    }
}
