using Microsoft.Data.Analysis;

namespace DistillSharp.Notebooks;

/// <summary>
/// Saves a notebook's results table in one call, where sweeps find it: <c>NAME.results.csv</c> beside the executed
/// notebook <c>NAME.ipynb</c> when the notebook runs under <c>distill run</c> (or <see cref="NotebookRunner"/>);
/// otherwise (say, in .NET Interactive) at the path in the <c>DISTILL_NOTEBOOK_RESULTS</c> environment variable,
/// or <c>artifacts/results.csv</c> under the current directory.
/// </summary>
public static class NotebookResults
{
    /// <summary>Where <see cref="Save(DataFrame)"/> writes for the code calling it.</summary>
    public static string CurrentPath =>
        NotebookContext.Current?.ResultsPath
        ?? (Environment.GetEnvironmentVariable(NotebookContext.ResultsPathVariable) is { Length: > 0 } fromEnvironment
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
