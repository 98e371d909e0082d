using DistillSharp.Reporting;

namespace DistillSharp.Notebooks;

/// <summary>
/// What a running notebook can know about its run: where the executed notebook goes, where its results table goes,
/// and the parameter values it runs with. <see cref="Current"/> is set by <see cref="NotebookRunner"/> for the code
/// of the cells (and the tasks and threads they start); outside a run it is null.
/// </summary>
public sealed class NotebookContext
{
    /// <summary>The environment variable <c>distill run</c> sets to the executed notebook's path.</summary>
    public const string OutputPathVariable = "DISTILL_NOTEBOOK_OUTPUT";

    /// <summary>The environment variable <c>distill run</c> sets to the results table's path (<see cref="NotebookResults.PathVariable"/>).</summary>
    public const string ResultsPathVariable = NotebookResults.PathVariable;

    private static readonly AsyncLocal<NotebookContext?> CurrentContext = new();

    private readonly string? explicitResultsPath;

    internal NotebookContext(string? outputPath, string? resultsPath, IReadOnlyDictionary<string, string> parameters)
    {
        OutputPath = outputPath is null ? null : Path.GetFullPath(outputPath);
        explicitResultsPath = resultsPath is null ? null : Path.GetFullPath(resultsPath);
        Parameters = parameters;
    }


    /// <summary>The context of the notebook run this code belongs to, or null outside a run.</summary>
    public static NotebookContext? Current => CurrentContext.Value;

    /// <summary>The full path the executed notebook is written to, or null when the run writes no file.</summary>
    public string? OutputPath { get; }

    /// <summary>
    /// Where <see cref="NotebookResults.Save(Microsoft.Data.Analysis.DataFrame)"/> (in the library, told the path through <see cref="NotebookHost.ResultsPath"/>) writes: the run's
    /// <see cref="NotebookRunOptions.ResultsPath"/> when given, else <c>NAME.results.csv</c> beside the executed
    /// notebook <c>NAME.ipynb</c>; null when the run writes no file.
    /// </summary>
    public string? ResultsPath => explicitResultsPath ?? (OutputPath is null ? null : ResultsPathFor(OutputPath));

    /// <summary>The parameter values given to the run (name to value as typed), empty when none were.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>The output sink of the cell being executed (console text and displayed values go there).</summary>
    internal CellOutputSink? Sink { get; set; }

    /// <summary>The results table path that belongs to the executed notebook at <paramref name="notebookPath"/>.</summary>
    public static string ResultsPathFor(string notebookPath)
    {
        var full = Path.GetFullPath(notebookPath);
        var folder = Path.GetDirectoryName(full)!;
        return Path.Combine(folder, Path.GetFileNameWithoutExtension(full) + ".results.csv");
    }

    internal static void Enter(NotebookContext context) => CurrentContext.Value = context;

    internal static void Leave() => CurrentContext.Value = null;
}
