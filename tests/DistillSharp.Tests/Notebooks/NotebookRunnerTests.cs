using System.Globalization;
using DistillSharp.Cli;
using DistillSharp.Notebooks;
using static DistillSharp.Tests.Notebooks.NotebookFixtures;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Notebooks;

public sealed class NotebookRunnerTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("distill-nbrun-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task StateCarriesFromCellToCell()
    {
        var notebook = Create(
            Code("class Answer { public int Value => 6 * 7; }\nint offset = 100;"),
            NotebookCell.Markdown("A markdown cell between them."),
            Code("Console.WriteLine(new Answer().Value + offset);"));
        var run = await RunAsync(notebook);
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal("142\n", Stdout(run.Notebook.Cells[2]));
        Assert.Equal(new int?[] { 1, null, 2 }, run.Notebook.Cells.Select(c => c.ExecutionCount));
        Assert.Empty(notebook.Cells[2].Outputs);                                          // the input is not changed
    }

    [Fact]
    public async Task EveryParameterTypeCanBeOverridden()
    {
        var notebook = Create(
            Code("using System.Globalization;"),
            Parameters("""
                var epochs = 5;
                long seed = 1;
                double alpha = 0.9;
                float beta = 1f;
                bool flag = false;
                string profile = "smoke";
                int[] widths = { 1 };
                double[] rates = { 0.1 };
                string[] models = { "a" };
                """),
            Code("""
                var inv = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Join("|", epochs * 2, seed + 1, (alpha * 10).ToString(inv), (beta * 2).ToString(inv),
                    !flag, profile.ToUpperInvariant(), widths.Sum(), rates.Sum().ToString(inv), string.Join("+", models)));
                """));
        var run = await RunAsync(notebook, null,
            "epochs=21", "seed=41", "alpha=0.25", "beta=1.5", "flag=true", "profile=paper run", "widths=[16,32]", "rates=0.5,0.25", "models=kd,crd");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        // 21*2, 41+1, 0.25*10, 1.5*2, !true, upper-cased string, 16+32, 0.5+0.25, joined strings.
        Assert.Equal("42|42|2.5|3|False|PAPER RUN|48|0.75|kd+crd\n", Stdout(run.Notebook.Cells[3]));
        var injected = run.Notebook.Cells[2];
        Assert.True(injected.HasTag(NotebookParameters.InjectedTag));
        Assert.Equal(2, NotebookParameters.FindCell(run.Notebook) + 1);
        Assert.Equal("paper run", run.Notebook.Metadata["distill"]!["parameters"]!["profile"]!.GetValue<string>());

        // Without -p the defaults hold: 5*2, 1+1, 0.9*10, 1*2, !false, SMOKE, 1, 0.1, a.
        var defaults = await RunAsync(notebook);
        Assert.Equal("10|2|9|2|True|SMOKE|1|0.1|a\n", Stdout(defaults.Notebook.Cells[2]));
    }

    [Fact]
    public async Task BadParametersStopTheRunBeforeAnyCellRuns()
    {
        var notebook = Create(Parameters("var epochs = 5;"), Code("Console.WriteLine(epochs);"));
        var unknown = await Assert.ThrowsAsync<DistillSharpException>(() => RunAsync(notebook, null, "epoch=3"));
        Assert.Equal("unknown parameter 'epoch': the parameters cell (cell 1) declares epochs (int).", unknown.Message);
        var wrong = await Assert.ThrowsAsync<DistillSharpException>(() => RunAsync(notebook, null, "epochs=3.5"));
        Assert.Equal("parameter 'epochs' is an int; '3.5' is not an int.", wrong.Message);

        // Through the command line: the message alone, exit code 2, no notebook written.
        var output = Path.Combine(folder, "out.ipynb");
        var (code, _, error) = Cli("run", Write(notebook, folder, "bad.ipynb"), "-p", "epochs=x", "--out", output);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: parameter 'epochs' is an int; 'x' is not an int.", error.Trim());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task ReferencesTheRunnerCarriesAreAcceptedAndOthersRejected()
    {
        var accepted = Create(Code("#r \"nuget: Plotly.NET, 6.0.0\"\n#r \"../lib/DistillSharp/bin/Release/net10.0/DistillSharp.dll\"\nusing Plotly.NET;\nConsole.WriteLine(6 * 7);"));
        var run = await RunAsync(accepted);
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal("42\n", Stdout(run.Notebook.Cells[0]));

        var rejected = Create(Code("Console.WriteLine(1);"), Code("// needs JSON\n#r \"nuget: Newtonsoft.Json, 13.0.3\""));
        var e = await Assert.ThrowsAsync<DistillSharpException>(() => RunAsync(rejected));
        Assert.StartsWith("cell 2, line 2: `#r \"nuget: Newtonsoft.Json, 13.0.3\"` is not a reference the runner carries", e.Message);
        Assert.Contains("Microsoft.Data.Analysis", e.Message);
    }

    [Fact]
    public async Task AnotherKernelsCellIsRejected()
    {
        var notebook = Create(Code("Console.WriteLine(1);"), Code("#!fsharp\nprintfn \"hi\""));
        var e = await Assert.ThrowsAsync<DistillSharpException>(() => RunAsync(notebook, Path.Combine(folder, "never.ipynb")));
        Assert.StartsWith("cell 2, line 1: `#!fsharp` starts code for the fsharp kernel", e.Message);
        Assert.False(File.Exists(Path.Combine(folder, "never.ipynb")));                // nothing ran, nothing written
    }

    [Fact]
    public void AFailingCellStopsTheRunWritesThePartialNotebookAndExitsNonZero()
    {
        var input = Write(Create(
            Code("Console.WriteLine(\"before\");"),
            Code("var values = new List<int>();\nvoid Check(int n) { if (n > 2) throw new InvalidOperationException($\"too big: {n}\"); }\nCheck(values.Count + 3);"),
            Code("Console.WriteLine(\"after\");")), folder, "fails.ipynb");
        var output = Path.Combine(folder, "fails.out.ipynb");
        var (code, _, error) = Cli("run", input, "--out", output);

        Assert.Equal(CliApp.NotebookFailed, code);
        Assert.Contains("error: cell 2, line 2: System.InvalidOperationException: too big: 3", error);
        var written = NotebookFile.Read(output);
        Assert.Equal("before\n", Stdout(written.Cells[0]));
        var failure = Assert.IsType<ErrorOutput>(Assert.Single(written.Cells[1].Outputs));
        Assert.Equal("System.InvalidOperationException", failure.Name);
        Assert.Equal("too big: 3", failure.Value);
        Assert.Contains("  at cell 2, line 2: void Check(int n) { if (n > 2) throw new InvalidOperationException($\"too big: {n}\"); }", failure.Traceback);
        Assert.Equal("failed", written.Cells[1].Metadata["distill"]!["status"]!.GetValue<string>());
        Assert.Null(written.Cells[2].ExecutionCount);                                     // not run: unchanged
        Assert.Empty(written.Cells[2].Outputs);
        Assert.Equal("failed", written.Metadata["distill"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACompileErrorNamesTheDiagnosticsLine()
    {
        var notebook = Create(Code("int a = 1;\n\nint b = a + undefinedName;"), Code("Console.WriteLine(2);"));
        var run = await RunAsync(notebook);
        Assert.False(run.Succeeded);
        Assert.Equal((1, 3), (run.Failure!.Cell, run.Failure.Line));
        var error = Assert.IsType<ErrorOutput>(run.Notebook.Cells[0].Outputs.Last());
        Assert.Equal("Microsoft.CodeAnalysis.Scripting.CompilationErrorException", error.Name);
        Assert.Equal("CS0103: The name 'undefinedName' does not exist in the current context", error.Value);
        Assert.Equal("cell 1, line 3, column 13: error CS0103: The name 'undefinedName' does not exist in the current context", error.Traceback[0]);
        Assert.Equal("    int b = a + undefinedName;", error.Traceback[1]);
    }

    [Fact]
    public async Task TrailingExpressionsDisplayCallsChartsAndTablesBecomeRichOutputs()
    {
        var notebook = Create(
            Code("#r \"nuget: Plotly.NET.CSharp, 0.14.0\"\n#r \"nuget: Microsoft.Data.Analysis, 0.23.1\"\nusing Plotly.NET.CSharp;\nusing Microsoft.Data.Analysis;"),
            Code("display(6 * 7);\n\"shown\".Display();\nConsole.WriteLine(\"printed\");\n6 * 7"),
            Code("Chart.Column<double, string, string>(new[] { 1.0, 2.0 }, Keys: new[] { \"a\", \"b\" })"),
            Code("new DataFrame(new Int32DataFrameColumn(\"answer\", new[] { 42 }), new StringDataFrameColumn(\"name\", new[] { \"<b>x</b>\" }))"),
            Code("int unused = 1;"),
            Code("var shown = display(1);\nshown.Update(6 * 7);\nawait Task.Run(() => Console.WriteLine(\"from a task\"));"));
        var run = await RunAsync(notebook);
        Assert.True(run.Succeeded, run.Failure?.ToString());

        var outputs = run.Notebook.Cells[1].Outputs;
        Assert.Equal(new[] { "display_data", "display_data", "stream", "execute_result" }, outputs.Select(o => o.OutputType));
        Assert.Equal("42", ((RichOutput)outputs[0]).GetText("text/plain"));
        Assert.Equal("shown", ((RichOutput)outputs[1]).GetText("text/plain"));
        var result = Assert.IsType<ExecuteResultOutput>(outputs[3]);
        Assert.Equal(("42", 2), (result.GetText("text/plain"), result.ExecutionCount));

        var chart = Assert.IsType<ExecuteResultOutput>(Assert.Single(run.Notebook.Cells[2].Outputs));
        var html = chart.GetText("text/html")!;
        Assert.DoesNotContain("requirejs.config({context", html);                         // drawn without require.js
        Assert.Contains("https://cdn.plot.ly/plotly-", html);
        Assert.Contains("\"x\":[\"a\",\"b\"]", html);
        Assert.DoesNotContain("Copyright 2012", html);                                    // plotly.js's banner: the library is not embedded
        Assert.True(html.Length < 50_000, $"chart HTML is {html.Length} characters");
        Assert.Contains("Plotly chart (1 trace", chart.GetText("text/plain"));
        var figure = Assert.IsType<System.Text.Json.Nodes.JsonObject>(chart.Data["application/vnd.plotly.v1+json"]);   // JSON, not text
        Assert.Equal("[\"a\",\"b\"]", figure["data"]![0]!["x"]!.ToJsonString());
        Assert.StartsWith("iVBORw0KGgo", chart.GetText("image/png"));                     // a base64 PNG
        Assert.Contains("<img src=\"data:image/png;base64,", html);

        var table = Assert.IsType<ExecuteResultOutput>(Assert.Single(run.Notebook.Cells[3].Outputs));
        Assert.Contains("<th>answer</th><th>name</th>", table.GetText("text/html"));
        Assert.Contains("<td>42</td><td>&lt;b&gt;x&lt;/b&gt;</td>", table.GetText("text/html"));
        Assert.StartsWith("answer  name    \n42      <b>x</b>\n(1 rows x 2 columns)", table.GetText("text/plain"));

        Assert.Empty(run.Notebook.Cells[4].Outputs);                                       // a declaration shows nothing

        var updated = run.Notebook.Cells[5].Outputs;                                        // display(1) updated to 42 in place
        Assert.Equal(new[] { "display_data", "stream" }, updated.Select(o => o.OutputType));
        Assert.Equal("42", ((RichOutput)updated[0]).GetText("text/plain"));
        Assert.Equal("from a task\n", Stdout(run.Notebook.Cells[5]));
    }

    [Fact]
    public void TheExecutedFileIsValidNbformatWithTimingsAndResults()
    {
        var input = Write(Create(
            Parameters("int n = 6;"),
            Code("record Row(string Name, int Value);\nvar path = DistillSharp.Reporting.NotebookResults.Save(new[] { new Row(\"answer\", n * 7) });\nConsole.Error.WriteLine(\"saved\");\nnew[] { 1, 2, 3 }")),
            folder, "timed.ipynb");
        var output = Path.Combine(folder, "timed.out.ipynb");
        var (code, stdout, _) = Cli("run", input, "-p", "n=6", "--out", output);
        Assert.Equal(0, code);
        Assert.Contains($"results: {Path.Combine(folder, "timed.out.results.csv")}", stdout);
        Assert.Equal("Name,Value\nanswer,42\n", File.ReadAllText(Path.Combine(folder, "timed.out.results.csv")));

        var text = File.ReadAllText(output);
        Assert.Empty(NbformatRules.Check(text));
        if (PythonNbformat.Available)
        {
            Assert.Equal("", PythonNbformat.Validate(output));
        }
        var written = NotebookFile.Read(output);
        Assert.Equal(5, written.FormatMinor);
        Assert.Equal(3, written.Cells.Count);                                              // parameters, injected, code
        foreach (var cell in written.Cells)
        {
            var start = DateTimeOffset.Parse(cell.Metadata["execution"]!["iopub.execute_input"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            var end = DateTimeOffset.Parse(cell.Metadata["execution"]!["shell.execute_reply"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            Assert.True(end >= start);
            Assert.InRange(cell.Metadata["distill"]!["seconds"]!.GetValue<double>(), 0, 120);
        }
        var last = written.Cells[2];
        Assert.Equal("saved\n", Assert.IsType<StreamOutput>(last.Outputs[0]) is { Name: "stderr" } s ? s.Text : "");
        Assert.Equal("[1, 2, 3]", Assert.IsType<ExecuteResultOutput>(last.Outputs[1]).GetText("text/plain"));
        Assert.Equal("completed", written.Metadata["distill"]!["status"]!.GetValue<string>());
        Assert.Equal(".net-csharp", written.Metadata["kernelspec"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheResultsTableGoesWhereTheRunSaysOrBesideTheNotebook()
    {
        var notebook = Create(Code("record Row(string Name, int Value);\nDistillSharp.Reporting.NotebookResults.Save(new[] { new Row(\"a\", 1) });"));
        var output = Path.Combine(folder, "placed.ipynb");
        var elsewhere = Path.Combine(folder, "elsewhere", "table.csv");
        var run = await NotebookRunner.RunAsync(notebook, new NotebookRunOptions { OutputPath = output, ResultsPath = elsewhere });
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal("Name,Value\na,1\n", File.ReadAllText(elsewhere));
        Assert.False(File.Exists(Path.Combine(folder, "placed.results.csv")));

        // distill run --in-place: the notebook is rewritten where it is, its results go to ./artifacts/NAME.results.csv.
        string name = $"inplace-{Guid.NewGuid():N}";
        var input = Write(notebook, folder, name + ".ipynb");
        var results = Path.GetFullPath(Path.Combine("artifacts", name + ".results.csv"));
        try
        {
            var (code, stdout, _) = Cli("run", input, "--in-place");
            Assert.Equal(0, code);
            Assert.Contains($"results: {results}", stdout);
            Assert.Equal("Name,Value\na,1\n", File.ReadAllText(results));
            Assert.False(File.Exists(Path.Combine(folder, name + ".results.csv")));
            Assert.Equal("completed", NotebookFile.Read(input).Metadata["distill"]!["status"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(results);
        }
    }

    [Fact]
    public async Task AnObserverWritingToTheConsoleDoesNotFeedBackIntoTheCell()
    {
        // An observer that echoes to Console.Out (the routed writer while a cell runs) must reach the terminal,
        // not the cell's outputs, and must not recurse.
        var observer = new EchoingObserver();
        var notebook = Create(Code("Console.WriteLine(6 * 7);\ndisplay(\"shown\");"));
        var run = await NotebookRunner.RunAsync(notebook, new NotebookRunOptions { Observer = observer });
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal("42\n", Stdout(run.Notebook.Cells[0]));
        Assert.Equal(2, run.Notebook.Cells[0].Outputs.Count);
        Assert.Equal("start cell 1/1|42\n|displayed shown|finished cell 1/1 ok",
            string.Join("|", observer.Events).Replace("wrote ", "").Replace("42|\n", "42\n"));      // the text may come in pieces
    }

    private sealed class EchoingObserver : INotebookRunObserver
    {
        public List<string> Events { get; } = new();

        public void CellStarted(string label) => Echo($"start {label}");

        public void CellWrote(string label, string stream, string text) => Echo($"wrote {text}");

        public void CellDisplayed(string label, RichOutput output) => Echo($"displayed {output.GetText("text/plain")}");

        public void CellFinished(string label, TimeSpan elapsed, ErrorOutput? error) => Echo($"finished {label} {(error is null ? "ok" : "failed")}");

        private void Echo(string line)
        {
            lock (Events) Events.Add(line);
            Console.Out.Write("");                                                            // through the routed writer
            Console.Out.WriteLine($"observer: {line.TrimEnd()}");
        }
    }

    [Fact]
    public async Task TheReadmesFirstCellAndParametersRunAsWritten()
    {
        // The first cell and the parameters cell exactly as notebooks/README.md shows them.
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "notebooks", "README.md"));
        var blocks = readme.Split("```csharp\n").Skip(1).Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)])
            .Select(b => string.Join('\n', b.Split('\n').Select(l => l.StartsWith("   ", StringComparison.Ordinal) ? l[3..] : l)))
            .ToList();
        Assert.Equal(2, blocks.Count);
        var notebook = Create(Code(blocks[0]), Parameters(blocks[1]),
            Code("var chart = Chart.Column<double, string, string>(new[] { alpha }, Keys: new[] { profile });\n" +
                 "var frame = new DataFrame(new Int32DataFrameColumn(\"epochs\", new[] { epochs }));\n" +
                 "display(zeros(2).sum().item<float>() + 6 * 7)"));
        var run = await RunAsync(notebook, null, "profile=cpu", "epochs=2");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal("42", ((RichOutput)Assert.Single(run.Notebook.Cells[3].Outputs)).GetText("text/plain"));
        Assert.Equal(9, NotebookParameters.Declared(notebook).Count);
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "DistillSharp.sln")))
        {
            folder = folder.Parent;
        }
        return folder?.FullName ?? throw new InvalidOperationException("the repository root (DistillSharp.sln) is not above the test folder");
    }

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
