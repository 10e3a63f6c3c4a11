namespace IoTPE.Engine.Scripts;

/// <summary>An edge of an input pin that runs its <c>onEdge</c> script; the script gets it as <c>message.gpio</c>.</summary>
/// <param name="Account">The pin's (and the script's) account.</param>
/// <param name="Script">The stored script to run.</param>
/// <param name="Pin">The pin's name.</param>
/// <param name="Value">The pin's logical value after the edge, 0 or 1.</param>
/// <param name="Edge"><c>rising</c> or <c>falling</c>.</param>
/// <param name="Timestamp">When the edge was reported.</param>
public sealed record PinEdge(string Account, string Script, string Pin, int Value, string Edge, DateTimeOffset Timestamp);
