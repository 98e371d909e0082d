using DistillSharp.Data;
using DistillSharp.Distillers;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>Test-set evaluation: mean cross-entropy and top-1 / top-5 accuracy (%) of a distiller's predictions.</summary>
public static class Evaluation
{
    /// <summary>Evaluates in eval mode without gradients; restores the previous mode.</summary>
    public static (double Loss, double Top1, double Top5) Run(Distiller distiller, DataLoader loader)
    {
        bool wasTraining = distiller.training;
        distiller.eval();
        double loss = 0, top1 = 0, top5 = 0;
        long seen = 0;
        using (no_grad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var owned = batch;
                var (l, c1, c5) = BatchSums(distiller, batch);
                loss += l;
                top1 += c1;
                top5 += c5;
                seen += batch.Labels.shape[0];
            }
        }
        if (wasTraining) distiller.train();
        if (seen == 0) throw new DistillSharpException("the test set is empty: nothing to evaluate.");
        return (loss / seen, 100.0 * top1 / seen, 100.0 * top5 / seen);
    }

    /// <summary>
    /// One evaluation batch (the caller sets eval mode and no_grad): the summed cross-entropy and the top-1 and
    /// top-5 correct counts, in one host transfer.
    /// </summary>
    internal static (double Loss, double Correct1, double Correct5) BatchSums(Distiller distiller, Batch batch)
    {
        using var scope = NewDisposeScope();
        var logits = distiller.Predict(batch.Images);
        var counts = stack(new[]
        {
            nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum),
            CorrectCount(logits, batch.Labels, 1),
            CorrectCount(logits, batch.Labels, 5),
        }).cpu().data<float>().ToArray();
        return (counts[0], counts[1], counts[2]);
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
