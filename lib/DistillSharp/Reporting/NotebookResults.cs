using Microsoft.Data.Analysis;

namespace DistillSharp.Reporting;

/// <summary>
/// Saves a notebook's results table in one call, where sweeps find it. Under <c>distill run</c> (the notebook host,
/// lib/DistillSharp.Notebooks) that is <c>NAME.results.csv</c> beside the executed notebook <c>NAME.ipynb</c>, or
/// the path the run was given; otherwise (say, in .NET Interactive) the path in the <c>DISTILL_NOTEBOOK_RESULTS</c>
/// environment variable, or <c>artifacts/results.csv</c> under the current directory. This class needs no notebook
/// machinery: the host tells it the path through <see cref="NotebookHost.ResultsPath"/>.
/// </summary>
public static class NotebookResults
{
    /// <summary>The environment variable that names the results table's path (set by <c>distill run</c> and .ci/notebooks-kernel.sh).</summary>
    public const string PathVariable = "DISTILL_NOTEBOOK_RESULTS";

    /// <summary>Where <see cref="Save(DataFrame)"/> writes for the code calling it.</summary>
    public static string CurrentPath =>
        NotebookHost.ResultsPath?.Invoke()
        ?? (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } fromEnvironment
            ? Path.GetFullPath(fromEnvironment)
            : Path.GetFullPath(Path.Combine("artifacts", "results.csv")));

    /// <summary>Saves <paramref name="table"/> as the run's results; returns the file's full path.</summary>
    public static string Save(DataFrame table) => Save(CsvTable.FromDataFrame(table));

    /// <summary>Saves one row per record (columns: the public properties of <typeparamref name="T"/>); returns the path.</summary>
    public static string Save<T>(IEnumerable<T> rows) => Save(CsvTable.FromRecords(rows));

    /// <summary>Saves <paramref name="table"/> as the run's results; returns the file's full path.</summary>
    public static string Save(CsvTable table)
    {
        var path = CurrentPath;
        table.Write(path);
        return path;
    }
}
