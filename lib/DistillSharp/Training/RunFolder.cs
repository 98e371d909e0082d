namespace DistillSharp.Training;

/// <summary>
/// The files of one run: <c>config.json</c>, <c>metrics.csv</c> (one row per epoch), <c>checkpoints/last.ckpt</c>,
/// <c>checkpoints/best.ckpt</c> and, when the run ends, <c>summary.json</c>. Every file is written atomically.
/// </summary>
public sealed class RunFolder
{
    /// <summary>Wraps the folder at <paramref name="path"/> (created on the first write).</summary>
    public RunFolder(string path) => Path = System.IO.Path.GetFullPath(path);

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>The run's configuration.</summary>
    public string Config => System.IO.Path.Combine(Path, "config.json");

    /// <summary>Per-epoch metrics.</summary>
    public string Metrics => System.IO.Path.Combine(Path, "metrics.csv");

    /// <summary>The checkpoint after the last finished epoch.</summary>
    public string LastCheckpoint => System.IO.Path.Combine(Path, "checkpoints", "last.ckpt");

    /// <summary>The checkpoint of the epoch with the best test top-1.</summary>
    public string BestCheckpoint => System.IO.Path.Combine(Path, "checkpoints", "best.ckpt");

    /// <summary>The final summary.</summary>
    public string Summary => System.IO.Path.Combine(Path, "summary.json");

    /// <summary>Whether the folder exists.</summary>
    public bool Exists => Directory.Exists(Path);

    /// <summary>Writes the metrics file with all <paramref name="rows"/>.</summary>
    public void WriteMetrics(IReadOnlyList<EpochMetrics> rows, IReadOnlyList<string> terms, IReadOnlyList<string>? accuracies = null) =>
        AtomicFile.WriteAllText(Metrics, MetricsText(rows, terms, accuracies));

    /// <summary>The text of a metrics file with <paramref name="rows"/>: a header line, then one line per epoch.</summary>
    public static string MetricsText(IReadOnlyList<EpochMetrics> rows, IReadOnlyList<string> terms, IReadOnlyList<string>? accuracies = null)
    {
        var lines = new List<string> { EpochMetrics.Header(terms, accuracies) };
        lines.AddRange(rows.Select(r => r.ToCsv(terms, accuracies)));
        return string.Join('\n', lines) + "\n";
    }
}
