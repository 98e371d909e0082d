using DistillSharp.Data;
using DistillSharp.Distillers;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>
/// The outcome of one evaluation: the run's prediction's mean cross-entropy and top-1 / top-5 (%), and, for a method
/// with several predictions, every prediction's and mean's accuracy by column name (<c>test_top1/NAME</c>, ...), and
/// the method's prediction metrics (<c>test_NAME</c>).
/// </summary>
public sealed record EvaluationMetrics(double Loss, double Top1, double Top5, IReadOnlyDictionary<string, double> Accuracies)
{
    /// <summary>The test images that could not be read and were left out (streamed datasets only).</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; init; } = [];

    /// <summary>The first three values, as the earlier tuple.</summary>
    public void Deconstruct(out double loss, out double top1, out double top5) => (loss, top1, top5) = (Loss, Top1, Top5);
}

/// <summary>Test-set evaluation: mean cross-entropy and top-1 / top-5 accuracy (%) of a distiller's predictions.</summary>
public static class Evaluation
{
    /// <summary>
    /// Evaluates in eval mode without gradients; restores the previous mode. Images a streamed dataset could not read
    /// are left out of the means and listed in <see cref="EvaluationMetrics.Skipped"/>.
    /// </summary>
    public static EvaluationMetrics Run(Distiller distiller, DataLoader loader)
    {
        var columns = new PredictionColumns(distiller);
        int p = columns.Predictions.Count;
        int q = columns.Metrics.Count;
        var metricSums = new double[q];
        bool wasTraining = distiller.training;
        distiller.eval();
        double loss = 0;
        var c1 = new double[p];
        var c5 = new double[p];
        long seen = 0;
        var skipped = new List<SkippedImage>();
        using (no_grad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var owned = batch;
                skipped.AddRange(batch.Skipped);
                if (batch.Size == 0) continue;
                var sums = BatchSums(distiller, batch);
                loss += sums[0];
                for (int i = 0; i < p; i++)
                {
                    c1[i] += sums[1 + 2 * i];
                    c5[i] += sums[2 + 2 * i];
                }
                for (int j = 0; j < q; j++) metricSums[j] += sums[1 + 2 * p + j];
                seen += batch.Labels.shape[0];
            }
        }
        if (wasTraining) distiller.train();
        if (seen == 0)
        {
            throw new DistillSharpException(skipped.Count > 0
                ? $"no test image could be read ({skipped.Count} skipped, e.g. {skipped[0].Path}, which {skipped[0].Reason}): nothing to evaluate."
                : "the test set is empty: nothing to evaluate.");
        }
        var named = columns.Accuracies("test_", c1, c5, seen);
        for (int j = 0; j < q; j++) named[PredictionColumns.MetricColumn(columns.Metrics[j])] = metricSums[j] / seen;
        return new EvaluationMetrics(loss / seen, 100.0 * c1[0] / seen, 100.0 * c5[0] / seen, named) { Skipped = skipped };
    }

    /// <summary>
    /// One evaluation batch (the caller sets eval mode and no_grad), in one host transfer: the summed cross-entropy of
    /// the run's prediction, then the top-1 and top-5 correct counts of each prediction in turn, then the sum over the
    /// batch of each of the distiller's <see cref="Distiller.PredictionMetrics"/>. Then releases the batch's untracked
    /// native handles (<see cref="FinalizableHandles"/>).
    /// </summary>
    internal static double[] BatchSums(Distiller distiller, Batch batch) =>
        FinalizableHandles.CollectAfter(() => ScopedBatchSums(distiller, batch));

    private static double[] ScopedBatchSums(Distiller distiller, Batch batch)
    {
        using var scope = NewDisposeScope();
        var predictions = distiller.Predict(batch.Images);
        var values = new List<Tensor> { nn.functional.cross_entropy(predictions[0], batch.Labels, reduction: nn.Reduction.Sum) };
        foreach (var logits in predictions)
        {
            values.Add(CorrectCount(logits, batch.Labels, 1));
            values.Add(CorrectCount(logits, batch.Labels, 5));
        }
        var metrics = distiller.PredictionMetricValues(predictions);
        if (metrics.Count != distiller.PredictionMetrics.Count)
        {
            throw new InvalidOperationException($"method '{distiller.Method}' returned {metrics.Count} values for its {distiller.PredictionMetrics.Count} prediction metrics");
        }
        foreach (var m in metrics) values.Add(m.to(float32).sum());
        return stack(values).to(float64).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// How many rows have their label among the <paramref name="k"/> largest logits, as a float scalar tensor
    /// (k is capped at the number of classes).
    /// </summary>
    public static Tensor CorrectCount(Tensor logits, Tensor labels, int k)
    {
        using var scope = NewDisposeScope();
        int kk = (int)Math.Min(k, logits.shape[1]);
        var (_, top) = logits.topk(kk, dim: 1);
        return top.eq(labels.unsqueeze(1)).any(1).sum().to(float32).MoveToOuterDisposeScope();
    }
}
