namespace IoTPE.Scripting.Tests;

public class ScriptCheckTests
{
    private static ScriptError? Check(string text)
    {
        using var heap = ScriptHeap.Create();
        return heap.Check(new ScriptSource("test.js", text));
    }

    [Theory]
    [InlineData("return 1 + 2;")]
    [InlineData("var a = message;\nif (a) { return { ok: true }; }\nreturn null;")]
    [InlineData("function add(a, b) { return a + b; }\nreturn add(1, 2);")]
    [InlineData("// only a comment")]
    [InlineData("")]
    [InlineData("var s = '}'; var r = /}/; return s + r;")]
    public void Valid_scripts_compile(string text)
    {
        Assert.Null(Check(text));
    }

    [Theory]
    [InlineData("var a = ;", 1, 9, "SyntaxError")]
    [InlineData("var a = 1;\n  var b = 'abc\n", 2, 11, "SyntaxError")]
    [InlineData("var a = 1;\r\nvar b = 2;\r\nvar c = ;", 3, 9, "SyntaxError")]
    [InlineData("var é = 'ü';\nvar x = ;", 2, 9, "SyntaxError")]
    [InlineData("x = 1 +", 1, 8, "SyntaxError")]
    public void Syntax_errors_report_the_authors_line_and_column(string text, int line, int column, string messagePart)
    {
        ScriptError? error = Check(text);
        Assert.NotNull(error);
        Assert.Equal(new SourcePosition(line, column), error.Position);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(line", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("}); evil(); (function () {")]
    [InlineData("return 1; }")]
    [InlineData("} function x() {")]
    public void A_script_cannot_close_its_function_wrapper_early(string text)
    {
        ScriptError? error = Check(text);
        Assert.NotNull(error);
        Assert.Contains("SyntaxError", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_heap_checks_many_scripts_and_stays_usable_after_errors()
    {
        using var heap = ScriptHeap.Create();
        for (int i = 0; i < 200; i++)
        {
            Assert.NotNull(heap.Check(new ScriptSource("bad.js", "var = " + i)));
            Assert.Null(heap.Check(new ScriptSource("good.js", "return " + i + ";")));
        }
    }

    [Fact]
    public void Engine_version_is_Jint_4()
    {
        Assert.Matches(@"^4\.\d+\.\d+", ScriptHeap.EngineVersion);
    }

    [Theory]
    [InlineData("const f = (a) => a + 1;\nreturn f(1);")]
    [InlineData("const v = await Promise.resolve(1);\nreturn v;")]
    [InlineData("class A { #x = 1; get x() { return this.#x; } }\nreturn new A().x;")]
    public void Modern_syntax_compiles(string text)
    {
        Assert.Null(Check(text));
    }
}
