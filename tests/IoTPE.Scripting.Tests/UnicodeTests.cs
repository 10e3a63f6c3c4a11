using System.Text;
using System.Text.Json;

namespace IoTPE.Scripting.Tests;

/// <summary>
/// Text crossing the boundary both ways stays the same text, also outside the BMP: the host always
/// sees proper UTF-8 / UTF-16.
/// </summary>
public class UnicodeTests
{
    private const string Mixed = "aé日😀🇩🇪𝄞";

    [Fact]
    public void A_message_with_astral_characters_arrives_as_JavaScript_strings_with_surrogate_pairs()
    {
        string message = JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = Mixed }, StringMapContext.Default.DictionaryStringString);
        string? json = ScriptRunner.Result(
            "var s = message.text; return [s.length, s.charCodeAt(3), s.charCodeAt(4), s.codePointAt(3), s === 'aé日\\ud83d\\ude00\\ud83c\\udde9\\ud83c\\uddea\\ud834\\udd1e'];",
            message);
        Assert.Equal("[11,55357,56832,128512,true]", json);
    }

    [Fact]
    public void A_UTF8_message_with_astral_characters_arrives_the_same_way()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("u@1", new ScriptSource("u", "return [message.length, message === '😀x'];")));
        byte[] utf8 = Encoding.UTF8.GetBytes("\"😀x\"");
        Assert.Equal("[3,true]", heap.Run("u@1", utf8, new RecordingHost()).ResultJson);
    }

    [Fact]
    public void Returned_strings_come_back_as_the_same_text()
    {
        string? json = ScriptRunner.Result("return { text: message.text + '!', literal: '😀𝄞', escaped: '\\ud83d\\ude00' };",
            JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = Mixed }, StringMapContext.Default.DictionaryStringString));
        using JsonDocument result = JsonDocument.Parse(json!);
        Assert.Equal(Mixed + "!", result.RootElement.GetProperty("text").GetString());
        Assert.Equal("😀𝄞", result.RootElement.GetProperty("literal").GetString());
        Assert.Equal("😀", result.RootElement.GetProperty("escaped").GetString());
    }

    [Fact]
    public void Host_calls_receive_proper_UTF8_and_answers_with_astral_characters_reach_the_script()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.KvGet, _ => "\"🎉 done\"");
        ScriptRunResult result = ScriptRunner.Run(
            "publish('/acme/😀', { v: '𝄞' }); log('é', '😀'); var got = kv.get('k'); return [got, got.length, got.charCodeAt(0)];", host: host);
        Assert.Equal("[\"🎉 done\",7,55356]", result.ResultJson);
        using JsonDocument publish = JsonDocument.Parse(host.CallsOf(ScriptHostFunction.Publish)[0].Arguments);
        Assert.Equal("/acme/😀", publish.RootElement[0].GetString());
        Assert.Equal("{\"v\":\"𝄞\"}", publish.RootElement[1].GetString());
        using JsonDocument log = JsonDocument.Parse(host.CallsOf(ScriptHostFunction.Log)[0].Arguments);
        Assert.Equal("é 😀", log.RootElement[1].GetString());
    }

    [Fact]
    public void Host_answers_written_as_raw_UTF8_with_astral_characters_are_transcoded()
    {
        var host = new RawUtf8Host("[\"😀\",\"日本\"]"u8.ToArray());
        ScriptRunResult result = ScriptRunner.Run("var r = db.query('SELECT 1'); return [r[0].length, r[0] === '\\ud83d\\ude00', r[1]];", host: host);
        Assert.Equal("[2,true,\"日本\"]", result.ResultJson);
    }

    [Fact]
    public void Error_messages_keep_their_characters()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.Publish, _ => throw new ScriptHostException("refusé: 😀"));
        Assert.Equal("Error: 🔥 hot", ScriptRunner.Run("throw new Error('🔥 hot');").Error!.Message);
        Assert.Equal("\"refusé: 😀\"", ScriptRunner.Run("try { publish('t', 'x'); } catch (e) { return e.message; }", host: host).ResultJson);
    }

    [Fact]
    public void A_lone_surrogate_reaches_the_host_as_a_replacement_character()
    {
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run("log('a\\ud800b'); return 'c\\udc00d';", host: host);
        using JsonDocument log = JsonDocument.Parse(host.Calls.Single().Arguments);
        Assert.Equal("a\uFFFDb", log.RootElement[1].GetString());
        Assert.Equal("\"c\\udc00d\"", result.ResultJson); // well-formed JSON.stringify escapes it
    }

    [Fact]
    public void Malformed_UTF8_in_a_message_becomes_replacement_characters()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("m@1", new ScriptSource("m", "return [message.length, message.charCodeAt(1)];")));
        byte[] malformed = [(byte)'"', (byte)'a', 0xFF, 0xC3, (byte)'"'];
        Assert.Equal("[3,65533]", heap.Run("m@1", malformed, new RecordingHost()).ResultJson);
    }

    [Fact]
    public void Script_source_with_astral_characters_reports_columns_in_characters()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptError? error = heap.Load("c@1", new ScriptSource("c", "var s = '😀😀'; var x = ;"));
        Assert.Equal(new SourcePosition(1, 23), error!.Position);
        Assert.Null(heap.Load("ok@1", new ScriptSource("ok", "var s = '😀😀'; return s.length;")));
        Assert.Equal("4", heap.Run("ok@1", "{}", new RecordingHost()).ResultJson);
    }

    private sealed class RawUtf8Host(byte[] answer) : IScriptHost
    {
        public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result) => result.WriteRawValue(answer);
    }
}
