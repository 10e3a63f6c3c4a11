namespace IoTPE.Engine;

/// <summary>The topics of an account's namespace that the engine acts on (see <see cref="EngineTopic"/>).</summary>
internal enum EngineTopicKind
{
    /// <summary><c>/&lt;account&gt;/run/&lt;name&gt;</c>: run the newest version of the stored script.</summary>
    Run,

    /// <summary><c>/&lt;account&gt;/runfile/&lt;name&gt;</c>: run <c>&lt;scripts&gt;/&lt;account&gt;/&lt;name&gt;.js</c>.</summary>
    RunFile,

    /// <summary><c>/&lt;account&gt;/cmd/&lt;name&gt;</c>: a command call served by the stored script.</summary>
    Command,

    /// <summary><c>/&lt;account&gt;/cmd/&lt;name&gt;/cancel</c>: cancels a command call.</summary>
    CommandCancel,

    /// <summary><c>/&lt;account&gt;/&lt;grant action&gt;</c>: a grant control request.</summary>
    GrantControl,

    /// <summary><c>/&lt;account&gt;/script/&lt;request&gt;[/&lt;name&gt;]</c>: a script management request.</summary>
    ScriptControl,
}
