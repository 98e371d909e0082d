using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;
using DistillSharp.Reporting;

namespace DistillSharp.Notebooks;

/// <summary>What to run a notebook with.</summary>
public sealed class NotebookRunOptions
{
    /// <summary>Parameter values (name, value as typed) for the notebook's parameters cell; later ones win.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>
    /// Where the executed notebook is written, after every cell (so a crash leaves the cells run so far), or null
    /// to write nothing. Also tells <see cref="NotebookResults"/> where the results table goes.
    /// </summary>
    public string? OutputPath { get; init; }

    /// <summary>
    /// Where <see cref="NotebookResults"/> writes the results table; null for <c>NAME.results.csv</c> beside
    /// <see cref="OutputPath"/>. (<c>distill run --in-place</c> sets it, so the table stays out of the notebook's folder.)
    /// </summary>
    public string? ResultsPath { get; init; }

    /// <summary>Told of each cell's start, output and end (for progress in a terminal); may be null.</summary>
    public INotebookRunObserver? Observer { get; init; }
}

/// <summary>Receives a notebook run's progress, as it happens. Calls may come from several threads.</summary>
public interface INotebookRunObserver
{
    /// <summary>The cell known as <paramref name="label"/> ("cell 3/12") starts.</summary>
    void CellStarted(string label);

    /// <summary>The running cell wrote <paramref name="text"/> to <paramref name="stream"/> (stdout or stderr).</summary>
    void CellWrote(string label, string stream, string text);

    /// <summary>The running cell displayed a value.</summary>
    void CellDisplayed(string label, RichOutput output);

    /// <summary>The cell ended after <paramref name="elapsed"/>, with <paramref name="error"/> when it failed.</summary>
    void CellFinished(string label, TimeSpan elapsed, ErrorOutput? error);
}

/// <summary>Where a failed run stopped.</summary>
/// <param name="Cell">The 1-based number of the failing cell in the input notebook (0 for the injected parameters).</param>
/// <param name="Line">The line in that cell where the error is, when known.</param>
/// <param name="Error">The error output written into the cell.</param>
public sealed record NotebookFailure(int Cell, int? Line, ErrorOutput Error)
{
    /// <summary>"cell 5, line 3: System.InvalidOperationException: message".</summary>
    public override string ToString() =>
        $"{(Cell == 0 ? "injected parameters" : $"cell {Cell}")}{(Line is { } l ? $", line {l}" : "")}: {Error.Name}: {Error.Value}";
}

/// <summary>The outcome of a run: the executed notebook, and where it failed or was interrupted, if it was.</summary>
/// <param name="Notebook">The executed notebook (cells after a failure are as they were).</param>
/// <param name="Failure">Null when every cell ran.</param>
/// <param name="Elapsed">The wall time of the run.</param>
public sealed record NotebookRunResult(Notebook Notebook, NotebookFailure? Failure, TimeSpan Elapsed)
{
    /// <summary>Whether every cell ran without error.</summary>
    public bool Succeeded => Failure is null;

    /// <summary>
    /// Whether the run was interrupted (its cancellation token fired): <see cref="Failure"/> is then the interrupted
    /// cell, whose outputs hold what it printed until then and a <c>KeyboardInterrupt</c> error, as Jupyter shows it.
    /// </summary>
    public bool Interrupted { get; init; }
}

/// <summary>
/// Runs the code cells of a C# notebook in order in one C# scripting session, so what a cell declares (variables,
/// methods, classes) is there for the cells after it. Console text, displayed values, the value of a trailing
/// expression (except the handle a trailing <c>display(x)</c> returns) and errors become the cells' outputs; each
/// cell's start and end times go into its metadata (<c>metadata.execution</c>, as Jupyter writes them, and
/// <c>metadata.distill.seconds</c>). The first failing cell gets an error output naming the exception and the line,
/// and the run stops there. The cells run on one thread of their own (<see cref="CellThread"/>), so the run can be
/// interrupted while a cell runs: the cell's output so far is kept, followed by a <c>KeyboardInterrupt</c> error.
/// </summary>
public static partial class NotebookRunner
{
    private const string ErrorTypeCompilation = "Microsoft.CodeAnalysis.Scripting.CompilationErrorException";

    /// <summary>The error name of an interrupted cell, as Jupyter writes it.</summary>
    public const string InterruptName = "KeyboardInterrupt";

    /// <summary>
    /// Checks <paramref name="notebook"/> (kernel, references, parameters), then runs it. The notebook passed in is
    /// not changed; the result holds the executed copy. When <paramref name="cancellationToken"/> fires, the run stops
    /// at once, also in the middle of a cell: the executed notebook is written with that cell's output so far and a
    /// <see cref="InterruptName"/> error, its status is "interrupted", and the result says
    /// <see cref="NotebookRunResult.Interrupted"/>. The interrupted cell's code is woken where it sleeps or waits but
    /// cannot be stopped from outside where it computes; it is left to end with the process.
    /// </summary>
    /// <exception cref="DistillSharpException">
    /// The notebook is for another language, holds a cell or line the runner cannot run, or a parameter is wrong;
    /// nothing has run then.
    /// </exception>
    public static async Task<NotebookRunResult> RunAsync(Notebook notebook, NotebookRunOptions options, CancellationToken cancellationToken = default)
    {
        if (CellSource.NotebookLanguage(notebook) is { } language)
        {
            throw new DistillSharpException($"this is a {language} notebook (its kernel metadata says so); the runner executes C# notebooks only.");
        }

        // Plan: the code of each code cell, numbered as in the input file, plus the injected parameters.
        var executed = notebook.Clone();
        var steps = new List<Step>();
        for (int i = 0; i < executed.Cells.Count; i++)
        {
            var cell = executed.Cells[i];
            if (cell.Type == CellType.Code && !cell.HasTag(NotebookParameters.InjectedTag))
            {
                steps.Add(new Step(cell, i + 1, CellSource.Prepare(cell, i + 1)));
            }
        }
        var injected = NotebookParameters.CreateInjectedCell(notebook, options.Parameters);
        executed.Cells.RemoveAll(c => c.HasTag(NotebookParameters.InjectedTag));
        if (injected is not null)
        {
            var parametersCell = executed.Cells[NotebookParameters.FindCell(executed)];
            executed.Cells.Insert(executed.Cells.IndexOf(parametersCell) + 1, injected);
            steps.Insert(steps.FindIndex(s => s.Cell == parametersCell) + 1, new Step(injected, 0, injected.Source));
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in options.Parameters)
        {
            parameters[name] = value;
        }
        var context = new NotebookContext(options.OutputPath, options.ResultsPath, parameters);
        var runStart = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var runInfo = new JsonObject
        {
            ["parameters"] = new JsonObject(parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            ["start_time"] = Iso(runStart),
        };
        executed.Metadata["distill"] = runInfo;

        ConsoleRouter.Install();
        InstallLibraryHooks();
        NotebookContext.Enter(context);
        using var cells = new CellThread();
        try
        {
            ScriptState<object>? state = null;
            int executionCount = 0;
            int cellCount = notebook.Cells.Count;
            foreach (var step in steps)
            {
                var cell = step.Cell;
                cell.Outputs.Clear();
                if (string.IsNullOrWhiteSpace(step.Code))
                {
                    cell.ExecutionCount = null;
                    continue;
                }
                string label = step.Number == 0 ? "injected parameters" : $"cell {step.Number}/{cellCount}";
                cell.ExecutionCount = ++executionCount;
                options.Observer?.CellStarted(label);
                var sink = new CellOutputSink(label, options.Observer);
                context.Sink = sink;
                var start = DateTimeOffset.UtcNow;
                var cellClock = Stopwatch.StartNew();
                NotebookFailure? failure = null;
                object? value = null;
                bool interrupted = false;
                try
                {
                    var scriptOptions = ScriptEnvironment.OptionsFor(FilePathOf(step.Number));
                    var previous = state;
                    var execution = cancellationToken.IsCancellationRequested ? null : cells.Run(() => previous is null
                        ? CSharpScript.RunAsync<object>(step.Code, scriptOptions, new NotebookGlobals(), typeof(NotebookGlobals), cancellationToken)
                        : previous.ContinueWithAsync<object>(step.Code, scriptOptions, cancellationToken));
                    interrupted = execution is null || !await EndsBeforeInterrupt(execution, cancellationToken).ConfigureAwait(false);
                    if (!interrupted)
                    {
                        state = await execution!.ConfigureAwait(false);
                        value = EndsWithExpression(step.Code) ? state.ReturnValue : null;
                    }
                }
                catch (CompilationErrorException e)
                {
                    failure = CompilationFailure(e, step);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    interrupted = true;
                }
                catch (Exception e)
                {
                    failure = RuntimeFailure(e, step, steps);
                }
                finally
                {
                    // What an interrupted cell writes from now on goes to the terminal, not into the written notebook.
                    context.Sink = null;
                }
                cellClock.Stop();
                if (interrupted)
                {
                    cells.Interrupt();
                    value = null;
                    failure = InterruptFailure(step, cellClock.Elapsed);
                }

                cell.Outputs.AddRange(sink.Snapshot());
                if (value is not null and not DisplayHandle)
                {
                    var result = new ExecuteResultOutput { ExecutionCount = cell.ExecutionCount };
                    result.SetData(DisplayFormatters.Format(value));
                    cell.Outputs.Add(result);
                }
                if (failure is not null)
                {
                    cell.Outputs.Add(failure.Error);
                }
                RecordTimes(cell, start, DateTimeOffset.UtcNow, cellClock.Elapsed, interrupted ? "interrupted" : failure is null ? "ok" : "failed");
                options.Observer?.CellFinished(label, cellClock.Elapsed, failure?.Error);

                if (failure is not null)
                {
                    Finish(executed, runInfo, clock.Elapsed, failure, interrupted);
                    Save(executed, options.OutputPath);
                    return new NotebookRunResult(executed, failure, clock.Elapsed) { Interrupted = interrupted };
                }
                Save(executed, options.OutputPath);
            }
        }
        finally
        {
            NotebookContext.Leave();
        }

        Finish(executed, runInfo, clock.Elapsed, null, interrupted: false);
        Save(executed, options.OutputPath);
        return new NotebookRunResult(executed, null, clock.Elapsed);
    }

    /// <summary>
    /// Tells the library's notebook-facing code about this host (<see cref="NotebookHost"/>): the results table of the
    /// run the calling code belongs to, and <c>display</c>. Outside a run both answer as if there were no host.
    /// </summary>
    private static void InstallLibraryHooks()
    {
        NotebookHost.ResultsPath ??= () => NotebookContext.Current?.ResultsPath;
        NotebookHost.Display ??= value => DisplayHandle.Show(value).Update;
    }

    /// <summary>Whether <paramref name="execution"/> ends before <paramref name="cancellationToken"/> fires (a cancelled end counts as the interrupt).</summary>
    private static async Task<bool> EndsBeforeInterrupt(Task execution, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled) return true;
        var interrupt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => interrupt.TrySetResult()))
        {
            var first = await Task.WhenAny(execution, interrupt.Task).ConfigureAwait(false);
            return first == execution && !(execution.IsCanceled && cancellationToken.IsCancellationRequested);
        }
    }

    /// <summary>The error of the cell that was running when the run was interrupted, as Jupyter's KeyboardInterrupt.</summary>
    private static NotebookFailure InterruptFailure(Step step, TimeSpan elapsed)
    {
        string where = step.Number == 0 ? "injected parameters" : $"cell {step.Number}";
        string message = $"stopped after {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s in {where}; the cells after it did not run";
        return new NotebookFailure(step.Number, null, new ErrorOutput(InterruptName, message, [$"{InterruptName}: {message}"]));
    }

    private static void Save(Notebook notebook, string? path)
    {
        if (path is not null)
        {
            NotebookFile.Write(notebook, path);
        }
    }

    private static void Finish(Notebook notebook, JsonObject runInfo, TimeSpan elapsed, NotebookFailure? failure, bool interrupted)
    {
        runInfo["end_time"] = Iso(DateTimeOffset.UtcNow);
        runInfo["seconds"] = Math.Round(elapsed.TotalSeconds, 3);
        runInfo["status"] = interrupted ? "interrupted" : failure is null ? "completed" : "failed";
        if (failure is not null)
        {
            runInfo["failure"] = failure.ToString();
        }
        notebook.Metadata["distill"] = runInfo;
    }

    private static void RecordTimes(NotebookCell cell, DateTimeOffset start, DateTimeOffset end, TimeSpan elapsed, string status)
    {
        cell.Metadata["execution"] = new JsonObject
        {
            ["iopub.execute_input"] = Iso(start),
            ["shell.execute_reply"] = Iso(end),
        };
        cell.Metadata["distill"] = new JsonObject
        {
            ["seconds"] = Math.Round(elapsed.TotalSeconds, 3),
            ["status"] = status,
        };
    }

    private static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string FilePathOf(int cellNumber) => cellNumber == 0 ? "injected-parameters" : $"cell{cellNumber}";

    private static bool EndsWithExpression(string code)
    {
        var tree = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Script));
        var members = ((CompilationUnitSyntax)tree.GetRoot()).Members;
        return members.Count > 0
            && members[^1] is GlobalStatementSyntax { Statement: ExpressionStatementSyntax expression }
            && expression.SemicolonToken.IsMissing;
    }

    private static NotebookFailure CompilationFailure(CompilationErrorException e, Step step)
    {
        var errors = e.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count == 0)
        {
            errors = e.Diagnostics.ToList();
        }
        var lines = step.Cell.Source.Split('\n');
        var traceback = new List<string>();
        int? firstLine = null;
        string where = step.Number == 0 ? "injected parameters" : $"cell {step.Number}";
        foreach (var diagnostic in errors.Take(10))
        {
            var span = diagnostic.Location.GetMappedLineSpan();
            int line = span.StartLinePosition.Line + 1, column = span.StartLinePosition.Character + 1;
            firstLine ??= line;
            traceback.Add($"{where}, line {line}, column {column}: error {diagnostic.Id}: {diagnostic.GetMessage(CultureInfo.InvariantCulture)}");
            if (line - 1 < lines.Length)
            {
                traceback.Add("    " + lines[line - 1].TrimEnd('\r'));
                traceback.Add("    " + new string(' ', Math.Max(0, column - 1)) + "^");
            }
        }
        var first = errors.FirstOrDefault();
        var message = first is null ? e.Message : $"{first.Id}: {first.GetMessage(CultureInfo.InvariantCulture)}";
        return new NotebookFailure(step.Number, firstLine, new ErrorOutput(ErrorTypeCompilation, message, traceback));
    }

    private static NotebookFailure RuntimeFailure(Exception exception, Step step, List<Step> steps)
    {
        var e = Unwrap(exception);
        string name = e.GetType().FullName ?? e.GetType().Name;

        // The innermost frame in a cell's code: its cell (a method may be declared in an earlier cell) and line.
        int cell = step.Number;
        int? line = null;
        foreach (var frame in new StackTrace(e, fNeedFileInfo: true).GetFrames())
        {
            if (frame.GetFileName() is { } file && CellFile().Match(file) is { Success: true } m && frame.GetFileLineNumber() > 0)
            {
                cell = m.Groups["n"].Success ? int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) : 0;
                line = frame.GetFileLineNumber();
                break;
            }
        }

        var traceback = new List<string> { $"{name}: {e.Message}" };
        if (line is { } l)
        {
            string where = cell == 0 ? "injected parameters" : $"cell {cell}";
            var source = steps.FirstOrDefault(s => s.Number == cell)?.Cell.Source.Split('\n');
            var text = source is not null && l - 1 < source.Length ? source[l - 1].Trim() : "";
            traceback.Add($"  at {where}, line {l}: {text}");
        }
        foreach (var frame in (e.StackTrace ?? "").Split('\n'))
        {
            var trimmed = frame.TrimEnd('\r');
            if (trimmed.Length > 0 && !IsRunnerFrame(trimmed))
            {
                traceback.Add(trimmed);
            }
        }
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            traceback.Add($" ---> {inner.GetType().FullName}: {inner.Message}");
        }
        return new NotebookFailure(cell, line, new ErrorOutput(name, e.Message, traceback));
    }

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a:
                    e = a.InnerExceptions[0];
                    continue;
                case TargetInvocationException { InnerException: { } inner }:
                    e = inner;
                    continue;
                default:
                    return e;
            }
        }
    }

    private static bool IsRunnerFrame(string frame) =>
        frame.Contains("Microsoft.CodeAnalysis.Scripting", StringComparison.Ordinal)
        || frame.Contains("DistillSharp.Notebooks.NotebookRunner", StringComparison.Ordinal)
        || frame.Contains("--- End of stack trace from previous location ---", StringComparison.Ordinal)
        || frame.Contains("System.Runtime.CompilerServices", StringComparison.Ordinal)
        || frame.Contains("System.Runtime.ExceptionServices", StringComparison.Ordinal);

    [GeneratedRegex(@"^(cell(?<n>\d+)|injected-parameters)$")]
    private static partial Regex CellFile();

    private sealed record Step(NotebookCell Cell, int Number, string Code);
}
