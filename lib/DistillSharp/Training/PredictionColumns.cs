using DistillSharp.Distillers;

namespace DistillSharp.Training;

/// <summary>
/// The accuracy columns of a method with more than one prediction: for each of its
/// <see cref="Distiller.PredictionNames"/> and <see cref="Distiller.AccuracyMeans"/>, <c>train_top1/NAME</c>,
/// <c>test_top1/NAME</c> and <c>test_top5/NAME</c>. A method with one prediction has none (its accuracy is the
/// run's <c>train_top1</c>, <c>test_top1</c> and <c>test_top5</c>). Each of its <see cref="Distiller.PredictionMetrics"/>
/// adds <c>test_NAME</c>.
/// </summary>
public sealed class PredictionColumns
{
    private readonly IReadOnlyList<string> predictions;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> means;
    private readonly IReadOnlyList<string> metrics;

    /// <summary>The columns of <paramref name="distiller"/>; its mean groups must name its predictions.</summary>
    public PredictionColumns(Distiller distiller)
    {
        predictions = distiller.PredictionNames;
        means = distiller.AccuracyMeans;
        metrics = distiller.PredictionMetrics;
        if (metrics.Distinct().Count() != metrics.Count || metrics.Any(m => m.Length == 0 || m.Contains('/') || m.Contains(',')))
        {
            throw new InvalidOperationException($"method '{distiller.Method}': prediction metrics must be distinct names without '/' or ','");
        }
        if (predictions.Count == 0) throw new InvalidOperationException($"method '{distiller.Method}' names no prediction");
        if (predictions.Distinct().Count() != predictions.Count) throw new InvalidOperationException($"method '{distiller.Method}' names a prediction twice");
        foreach (var (name, members) in means)
        {
            if (members.Count == 0 || members.Any(m => !predictions.Contains(m)) || predictions.Contains(name))
            {
                throw new InvalidOperationException($"method '{distiller.Method}': mean '{name}' must average some of its predictions ({string.Join(", ", predictions)})");
            }
        }
    }

    /// <summary>The method's <see cref="Distiller.PredictionMetrics"/> (test-set means beyond accuracy).</summary>
    public IReadOnlyList<string> Metrics => metrics;

    /// <summary>The column of prediction metric <paramref name="name"/>: <c>test_NAME</c>.</summary>
    public static string MetricColumn(string name) => "test_" + name;

    /// <summary>The prediction names, the run's own first.</summary>
    public IReadOnlyList<string> Predictions => predictions;

    /// <summary>Whether there is more than the one prediction (and so any named column).</summary>
    public bool Named => predictions.Count > 1;

    /// <summary>
    /// Every named column, in the order metrics.csv holds them: the accuracies of each prediction and mean (none for one
    /// prediction), then <c>test_NAME</c> for each prediction metric.
    /// </summary>
    public IReadOnlyList<string> Columns =>
        (Named ? predictions.Concat(means.Keys).SelectMany(n => new[] { $"train_top1/{n}", $"test_top1/{n}", $"test_top5/{n}" }) : [])
        .Concat(metrics.Select(MetricColumn)).ToArray();

    /// <summary>
    /// The named accuracies (%) with <paramref name="prefix"/> (<c>train_</c> or <c>test_</c>) from correct counts per
    /// prediction out of <paramref name="seen"/> rows; <paramref name="correct5"/> may be null (training reports top-1 only).
    /// </summary>
    public Dictionary<string, double> Accuracies(string prefix, IReadOnlyList<double> correct1, IReadOnlyList<double>? correct5, double seen)
    {
        var result = new Dictionary<string, double>();
        if (!Named) return result;
        var top1 = predictions.Select((n, i) => (n, v: 100.0 * correct1[i] / seen)).ToDictionary(x => x.n, x => x.v);
        var top5 = correct5 is null ? null : predictions.Select((n, i) => (n, v: 100.0 * correct5[i] / seen)).ToDictionary(x => x.n, x => x.v);
        foreach (var (name, members) in means)
        {
            top1[name] = members.Average(m => top1[m]);
            if (top5 is not null) top5[name] = members.Average(m => top5[m]);
        }
        foreach (var (name, v) in top1) result[$"{prefix}top1/{name}"] = v;
        if (top5 is not null) foreach (var (name, v) in top5) result[$"{prefix}top5/{name}"] = v;
        return result;
    }
}
