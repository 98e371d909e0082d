using System.Globalization;
using System.Text;

namespace DistillSharp.Training;

/// <summary>One row of a run's <c>metrics.csv</c>: the epoch's rate, mean loss terms, accuracies and duration.</summary>
public sealed record EpochMetrics(
    int Epoch, double LearningRate, IReadOnlyDictionary<string, double> Losses,
    double TrainTop1, double TrainTop5, double TestLoss, double TestTop1, double TestTop5, double Seconds)
{
    /// <summary>The CSV header for the given loss terms.</summary>
    public static string Header(IEnumerable<string> terms) =>
        "epoch,lr," + string.Concat(terms.Select(t => $"loss_{t},")) + "loss_total,train_top1,train_top5,test_loss,test_top1,test_top5,seconds";

    /// <summary>This row in the column order of <see cref="Header"/>.</summary>
    public string ToCsv(IEnumerable<string> terms)
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
        sb.Length--;
        return sb.ToString();
    }

    /// <summary>Parses a metrics file written by <see cref="ToCsv"/> (for resuming and for reports).</summary>
    public static List<EpochMetrics> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) return [];
        var header = lines[0].Split(',');
        var terms = header.Where(h => h.StartsWith("loss_", StringComparison.Ordinal) && h != "loss_total")
            .Select(h => h["loss_".Length..]).ToArray();
        int Col(string name) => Array.IndexOf(header, name);
        var result = new List<EpochMetrics>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            double D(string name) => double.Parse(f[Col(name)], CultureInfo.InvariantCulture);
            var losses = terms.Where(t => f[Col("loss_" + t)].Length > 0).ToDictionary(t => t, t => D("loss_" + t));
            result.Add(new EpochMetrics(int.Parse(f[0], CultureInfo.InvariantCulture), D("lr"), losses,
                D("train_top1"), D("train_top5"), D("test_loss"), D("test_top1"), D("test_top5"), D("seconds")));
        }
        return result;
    }
}
