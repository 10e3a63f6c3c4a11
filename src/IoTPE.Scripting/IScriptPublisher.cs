namespace IoTPE.Scripting;

/// <summary>
/// An <see cref="IScriptHost"/> that also takes <c>publish</c> calls as typed arguments, so that the
/// commonest host call skips encoding its arguments as JSON and decoding them again. A host that
/// does not implement it gets publishes through <see cref="IScriptHost.Invoke"/> with
/// <see cref="ScriptHostFunction.Publish"/>, as before; both see the same values.
/// </summary>
/// <remarks>Same contract as <see cref="IScriptHost.Invoke"/>: the thread running the script, synchronously, the same exceptions.</remarks>
public interface IScriptPublisher : IScriptHost
{
    /// <summary>Performs one <c>publish</c> (see <see cref="ScriptHostFunction.Publish"/> for the arguments).</summary>
    /// <param name="topic">A non-empty string, not checked for MQTT syntax or authorization; lone surrogates are already U+FFFD.</param>
    /// <param name="payload">The script's string as is, or its value as <c>JSON.stringify</c> wrote it; lone surrogates are already U+FFFD.</param>
    /// <param name="qos">0, 1 or 2.</param>
    /// <param name="retain">The retain flag.</param>
    void Publish(string topic, string payload, int qos, bool retain);
}
