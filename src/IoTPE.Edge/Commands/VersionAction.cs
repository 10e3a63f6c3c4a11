using IoTPE.Sqlite;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using System.Runtime.InteropServices;
using IoTPE.Scripting;

namespace IoTPE.Edge.Commands;

/// <summary>
/// <c>iotpe --version</c>: the product version and the versions of the runtime, SQLite and the
/// script engine inside this binary (asking each of them, so it also proves they load).
/// </summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(
            $"iotpe {ProductVersion} (.NET {Environment.Version}, {RuntimeInformation.RuntimeIdentifier}, " +
            $"SQLite {SqliteRuntime.Version}, Jint {ScriptHeap.EngineVersion})");
        return 0;
    }

    public static string ProductVersion
    {
        get
        {
            string? version = typeof(VersionAction).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            return version is null ? "unknown" : version.Split('+')[0];
        }
    }
}
