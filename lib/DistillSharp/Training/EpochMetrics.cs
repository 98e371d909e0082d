using System.Globalization;
using System.Text;

namespace DistillSharp.Training;

/// <summary>
/// One row of a run's <c>metrics.csv</c>: the epoch's rate, mean loss terms, accuracies and duration. The run's own
/// prediction gives <c>train_top1</c>, <c>test_top1</c> and <c>test_top5</c>; a method with several predictions
/// (branches, peers, an ensemble) adds one column per prediction and per mean in <see cref="Accuracies"/>, named
/// <c>train_top1/NAME</c>, <c>test_top1/NAME</c> and <c>test_top5/NAME</c>.
/// </summary>
public sealed record EpochMetrics(
    int Epoch, double LearningRate, IReadOnlyDictionary<string, double> Losses,
    double TrainTop1, double TrainTop5, double TestLoss, double TestTop1, double TestTop5, double Seconds)
{
    /// <summary>
    /// The named columns by name: the accuracies (%) of every named prediction and mean (e.g. <c>test_top1/ensemble</c>;
    /// none for one prediction) and the method's prediction metrics (<c>test_NAME</c>, e.g. <c>test_branch_disagreement</c>).
    /// </summary>
    public IReadOnlyDictionary<string, double> Accuracies { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The test top-1 of every named prediction and mean, as <c>  [peer1 81.20%  peer2 80.90%  peer_mean 81.05%]</c>
    /// for progress lines; empty for a method with one prediction.
    /// </summary>
    public string NamedTestTop1()
    {
        var named = Accuracies.Where(kv => kv.Key.StartsWith("test_top1/", StringComparison.Ordinal))
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key["test_top1/".Length..]} {kv.Value:F2}%")).ToArray();
        return named.Length == 0 ? "" : "  [" + string.Join("  ", named) + "]";
    }

    /// <summary>The CSV header for the given loss terms and accuracy columns.</summary>
    public static string Header(IEnumerable<string> terms, IEnumerable<string>? accuracies = null) =>
        "epoch,lr," + string.Concat(terms.Select(t => $"loss_{t},")) + "loss_total,train_top1,train_top5,test_loss,test_top1,test_top5,seconds" +
        string.Concat((accuracies ?? []).Select(a => "," + a));

    /// <summary>This row in the column order of <see cref="Header"/>.</summary>
    public string ToCsv(IEnumerable<string> terms, IEnumerable<string>? accuracies = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(Epoch.ToString(c)).Append(',').Append(LearningRate.ToString("R", c)).Append(',');
        foreach (var t in terms) sb.Append(Losses.TryGetValue(t, out var v) ? v.ToString("R", c) : "").Append(',');
        sb.Append(Losses.Values.Sum().ToString("R", c)).Append(',');
        foreach (var v in new[] { TrainTop1, TrainTop5, TestLoss, TestTop1, TestTop5, Seconds })
        {
            sb.Append(v.ToString("R", c)).Append(',');
        }
        foreach (var a in accuracies ?? []) sb.Append(Accuracies.TryGetValue(a, out var v) ? v.ToString("R", c) : "").Append(',');
        sb.Length--;
        return sb.ToString();
    }

    private static readonly string[] Fixed = ["epoch", "lr", "train_top1", "train_top5", "test_loss", "test_top1", "test_top5", "seconds"];

    /// <summary>
    /// Parses a metrics file written by <see cref="ToCsv"/> (for reports). A file that is not such a table is an
    /// error naming the file and the line.
    /// </summary>
    public static List<EpochMetrics> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) return [];
        var header = lines[0].Split(',');
        foreach (var required in new[] { "epoch", "lr", "train_top1", "train_top5", "test_loss", "test_top1", "test_top5", "seconds" })
        {
            if (!header.Contains(required))
            {
                throw new DistillSharpException($"{path} is not a metrics table: its first line has no '{required}' column.");
            }
        }
        var terms = header.Where(h => h.StartsWith("loss_", StringComparison.Ordinal) && h != "loss_total")
            .Select(h => h["loss_".Length..]).ToArray();
        var accuracies = header.Where(h => !h.StartsWith("loss_", StringComparison.Ordinal) && !Fixed.Contains(h)).ToArray();
        int Col(string name) => Array.IndexOf(header, name);
        var result = new List<EpochMetrics>();
        for (int row = 1; row < lines.Length; row++)
        {
            var f = lines[row].Split(',');
            if (f.Length != header.Length)
            {
                throw new DistillSharpException($"{path}, line {row + 1}: {f.Length} fields where the header has {header.Length}.");
            }
            double D(string name) => double.TryParse(f[Col(name)], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new DistillSharpException($"{path}, line {row + 1}: '{f[Col(name)]}' in column {name} is not a number.");
            var losses = terms.Where(t => f[Col("loss_" + t)].Length > 0).ToDictionary(t => t, t => D("loss_" + t));
            var extra = accuracies.Where(a => f[Col(a)].Length > 0).ToDictionary(a => a, D);
            result.Add(new EpochMetrics((int)D("epoch"), D("lr"), losses,
                D("train_top1"), D("train_top5"), D("test_loss"), D("test_top1"), D("test_top5"), D("seconds")) { Accuracies = extra });
        }
        return result;
    }
}
