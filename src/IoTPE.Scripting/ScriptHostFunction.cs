namespace IoTPE.Scripting;

/// <summary>
/// The function names an <see cref="IScriptHost"/> receives, with the arguments' JSON shape. The
/// script API checks types before calling, so a host sees these shapes (it should still reject
/// values it cannot use, with a <see cref="ScriptHostException"/>).
/// </summary>
public static class ScriptHostFunction
{
    /// <summary>
    /// <c>publish(topic, payload, {qos, retain})</c>. Arguments <c>[topic, payload, qos, retain]</c>:
    /// topic a non-empty string (not checked for MQTT syntax or authorization: the host does that),
    /// payload a string (the script's string as is, any other value as its <c>JSON.stringify</c>),
    /// qos 0, 1 or 2, retain a boolean. Result: none.
    /// </summary>
    public const string Publish = "publish";

    /// <summary>
    /// <c>db.query(sql, params)</c>. Arguments <c>[sql, params]</c>: sql a non-empty string; params an
    /// array (positional <c>?</c> parameters) or an object (named <c>:name</c>/<c>@name</c>/<c>$name</c>
    /// parameters, keys without the prefix), whose values are null, booleans, numbers or strings.
    /// Result: an array of rows, each an object of column name to value.
    /// </summary>
    public const string DbQuery = "db.query";

    /// <summary>
    /// <c>db.exec(sql, params)</c>. Arguments as <see cref="DbQuery"/>. Result: <c>{"changes": n, "lastInsertRowid": n}</c>.
    /// </summary>
    public const string DbExec = "db.exec";

    /// <summary>
    /// <c>kv.get(key)</c>. Arguments <c>[key]</c>, a non-empty string. Result: the stored JSON value, or
    /// nothing (the script sees <c>undefined</c>) when the key is absent.
    /// </summary>
    public const string KvGet = "kv.get";

    /// <summary>
    /// <c>kv.set(key, value)</c>. Arguments <c>[key, value]</c>: key a non-empty string, value any JSON
    /// value (store <see cref="System.Text.Json.JsonElement.GetRawText"/>). Result: none.
    /// </summary>
    public const string KvSet = "kv.set";

    /// <summary>
    /// <c>kv.remove(key)</c>. Arguments <c>[key]</c>. Result: <c>true</c> when the key existed, else <c>false</c>.
    /// </summary>
    public const string KvRemove = "kv.remove";

    /// <summary>
    /// <c>gpio.read(name)</c>. Arguments <c>[name]</c>, a non-empty string: a pin of the script's account.
    /// Result: its logical value, <c>0</c> or <c>1</c>.
    /// </summary>
    public const string GpioRead = "gpio.read";

    /// <summary>
    /// <c>gpio.write(name, value)</c>. Arguments <c>[name, value]</c>: name a non-empty string, value <c>0</c>
    /// or <c>1</c> (the script API turns <c>true</c>/<c>false</c> into these). Result: none.
    /// </summary>
    public const string GpioWrite = "gpio.write";

    /// <summary>
    /// <c>log(...)</c> and <c>console.log/info/warn/error/debug(...)</c>. Arguments <c>[level, message]</c>:
    /// level one of <c>info</c> (log, console.log, console.info), <c>warn</c>, <c>error</c>, <c>debug</c>;
    /// message the arguments joined with spaces, as console.log does (strings as they are, other
    /// values as JSON or their string form). Result: none.
    /// </summary>
    public const string Log = "log";
}
