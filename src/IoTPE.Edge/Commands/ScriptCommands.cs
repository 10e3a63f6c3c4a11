using System.CommandLine;
using IoTPE.Scripting;

namespace IoTPE.Edge.Commands;

/// <summary><c>iotpe script ...</c>: work with JavaScript business rules.</summary>
internal static class ScriptCommands
{
    public static Command Build()
    {
        var script = new Command("script", "Work with JavaScript business rules.");
        script.Subcommands.Add(BuildCheck());
        return script;
    }

    private static Command BuildCheck()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The script file to check (JavaScript, ES5.1 with parts of ES2015+)." };
        var check = new Command("check", "Compile a script in the sandbox without running it; report syntax errors with line and column (exit code 1).")
        {
            file,
        };
        check.SetAction(parseResult =>
        {
            FileInfo path = parseResult.GetRequiredValue(file);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string text;
            try
            {
                text = File.ReadAllText(path.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"iotpe: cannot read {path}: {e.Message}");
                return 2;
            }

            using ScriptHeap heap = ScriptHeap.Create();
            ScriptError? problem = heap.Check(new ScriptSource(path.Name, text));
            if (problem is null)
            {
                output.WriteLine($"{path}: ok");
                return 0;
            }
            error.WriteLine($"{path}:{problem}");
            return 1;
        });
        return check;
    }
}
