using System.CommandLine;
using System.Runtime.InteropServices;
using DistillSharp.Notebooks;

namespace DistillSharp.Cli;

/// <summary>
/// <c>distill run NOTEBOOK.ipynb [-p name=value]... [--out PATH] [--in-place]</c>: executes the notebook's code cells
/// in one C# scripting session and writes the executed notebook (default <c>artifacts/NAME.ipynb</c>) and the results
/// table it saves beside it (with <c>--in-place</c>, in <c>artifacts/NAME.results.csv</c>). Exit code 0
/// when every cell ran, 1 when a cell failed (the notebook is written up to it), 2 for a usage error, 130 when
/// interrupted by Ctrl+C (SIGINT): the notebook is then written with the running cell's output so far and a
/// KeyboardInterrupt error in it, as Jupyter shows an interrupted cell. A second Ctrl+C ends the process at once.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var notebook = new Argument<string>("notebook") { Description = "The .ipynb notebook to run." };
        var parameters = ParameterOption("Set a parameter of the notebook's parameters cell: -p name=value (repeat for more).");
        var outPath = new Option<string?>("--out") { Description = "Where to write the executed notebook (default: artifacts/NAME.ipynb)." };
        var inPlace = new Option<bool>("--in-place") { Description = "Overwrite the input notebook with the executed one." };
        var command = new Command("run", "Run a C# notebook headless and write the executed notebook.") { notebook, parameters, outPath, inPlace };
        command.SetAction(parse =>
        {
            var config = parse.InvocationConfiguration;
            var input = parse.GetRequiredValue(notebook);
            var given = (parse.GetValue(parameters) ?? []).Select(NotebookParameters.ParseAssignment).ToList();
            bool overwrite = parse.GetValue(inPlace);
            var output = OutputPath(input, parse.GetValue(outPath), overwrite);
            // In place, the results table goes to artifacts/, not beside the notebook (which lives in the repository).
            var results = overwrite
                ? Path.Combine("artifacts", Path.GetFileNameWithoutExtension(input) + ".results.csv")
                : NotebookContext.ResultsPathFor(output);
            return Run(input, given, output, results, config.Output, config.Error);
        });
        return command;
    }

    /// <summary>The repeatable <c>-p/--parameter</c> option.</summary>
    public static Option<string[]> ParameterOption(string description) => new("--parameter", "-p")
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private static string OutputPath(string input, string? outPath, bool inPlace)
    {
        if (inPlace && outPath is not null)
        {
            throw new DistillSharpException("--out and --in-place exclude each other: give one.");
        }
        var output = inPlace ? input : outPath ?? Path.Combine("artifacts", Path.GetFileName(input));
        if (!inPlace && string.Equals(Path.GetFullPath(output), Path.GetFullPath(input), StringComparison.Ordinal))
        {
            throw new DistillSharpException($"--out {outPath} is the input notebook; use --in-place to overwrite it.");
        }
        return output;
    }

    private static int Run(string input, List<KeyValuePair<string, string>> parameters, string output, string results, TextWriter stdout, TextWriter stderr)
    {
        if (!File.Exists(input))
        {
            throw new DistillSharpException($"notebook {input} not found.");
        }
        var notebook = NotebookFile.Read(input);

        // A results table left by an earlier run would pass for this run's: remove it first.
        results = Path.GetFullPath(results);
        if (File.Exists(results))
        {
            File.Delete(results);
        }
        Environment.SetEnvironmentVariable(NotebookContext.OutputPathVariable, Path.GetFullPath(output));
        Environment.SetEnvironmentVariable(NotebookContext.ResultsPathVariable, results);

        bool interactive = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected
            && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
        NotebookRunResult result;
        using (var interrupt = new CancellationTokenSource())
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
        {
            if (interrupt.IsCancellationRequested) return;   // the second Ctrl+C: the default, which ends the process
            signal.Cancel = true;
            interrupt.Cancel();
        }))
        using (var progress = new TerminalProgress(stdout, stderr, interactive))
        {
            var options = new NotebookRunOptions { Parameters = parameters, OutputPath = output, ResultsPath = results, Observer = progress };
            result = NotebookRunner.RunAsync(notebook, options, interrupt.Token).GetAwaiter().GetResult();
        }

        int codeCells = result.Notebook.Cells.Count(c => c.Type == CellType.Code && c.ExecutionCount is not null);
        if (result.Interrupted)
        {
            stderr.WriteLine($"interrupted (Ctrl+C): {result.Failure?.Error.Value}. The notebook so far, with that cell's output, is in {output}");
            return CliApp.Interrupted;
        }
        if (result.Failure is { } failure)
        {
            stderr.WriteLine($"error: {failure}");
            stderr.WriteLine($"the notebook stopped there; the cells run so far are in {output}");
            return CliApp.NotebookFailed;
        }
        stdout.WriteLine($"wrote {output} ({codeCells} code cells run in {result.Elapsed.TotalSeconds:0.0} s)");
        if (File.Exists(results))
        {
            stdout.WriteLine($"results: {results}");
        }
        return 0;
    }
}
