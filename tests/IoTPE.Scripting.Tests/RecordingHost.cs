using System.Collections.Concurrent;
using System.Text.Json;

namespace IoTPE.Scripting.Tests;

/// <summary>A script host that records every call and answers from configurable handlers.</summary>
internal sealed class RecordingHost : IScriptHost
{
    private readonly Dictionary<string, Func<JsonElement, string?>> _answers = new(StringComparer.Ordinal);

    /// <summary>Every call, in order: the function name and its arguments as JSON text.</summary>
    public ConcurrentQueue<(string Function, string Arguments)> Calls { get; } = new();

    /// <summary>Answers <paramref name="function"/> with the JSON <paramref name="answer"/> returns (null: no value); it may throw.</summary>
    public RecordingHost Answer(string function, Func<JsonElement, string?> answer)
    {
        _answers[function] = answer;
        return this;
    }

    public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result)
    {
        Calls.Enqueue((function, arguments.GetRawText()));
        if (_answers.TryGetValue(function, out Func<JsonElement, string?>? answer) && answer(arguments) is { } json)
        {
            result.WriteRawValue(json);
        }
    }

    public (string Function, string Arguments)[] CallsOf(string function) => [.. Calls.Where(c => c.Function == function)];
}
