using System.Text.Json;

namespace IoTPE.Scripting;

/// <summary>
/// What a script reaches beyond its own heap: the engine implements this for each run (the
/// account's topics, database and key-value store, its log). The script-visible API turns every
/// call into one <see cref="Invoke"/> with a function name from <see cref="ScriptHostFunction"/>;
/// the argument shapes are documented there and in src/IoTPE.Scripting/README.md.
/// </summary>
/// <remarks>
/// Called on the thread running the script, synchronously, while the run's time budget keeps
/// counting. An implementation must not start or wait for another script run.
/// </remarks>
public interface IScriptHost
{
    /// <summary>Performs one host call.</summary>
    /// <param name="function">The function, e.g. <c>publish</c> or <c>db.query</c>.</param>
    /// <param name="arguments">The arguments: a JSON array whose shape depends on <paramref name="function"/>.</param>
    /// <param name="result">
    /// Where to write the function's return value: one JSON value, or nothing for <c>undefined</c>.
    /// </param>
    /// <exception cref="ScriptHostException">
    /// The call fails in a way the script should see: the script gets a thrown <c>Error</c> with
    /// the exception's message. Any other exception also reaches the script as an error, without
    /// its details, and is reported in <see cref="ScriptRunResult.HostException"/>.
    /// </exception>
    void Invoke(string function, JsonElement arguments, Utf8JsonWriter result);
}
