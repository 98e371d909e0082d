using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// Draws CRD's contrast indices in RepDistiller's "exact" mode: for a sample of class y, the positive itself
/// (column 0) and then K negatives drawn uniformly from the training samples of every other class, without
/// replacement when class y has at least K such samples and with replacement otherwise (as RepDistiller's
/// <c>np.random.choice(cls_negative[y], K, replace=K &gt; len(cls_negative[y]))</c>).
/// Vectorised over the batch: without replacement is the K smallest of uniform keys over all N samples with
/// class y's keys pushed out of reach; with replacement is a draw r in [0, N − n_y) that skips class y's
/// block of the class-sorted index.
/// </summary>
public sealed class ClassNegativeSampler : IDisposable
{
    private readonly Tensor sortedIndices;
    private readonly Tensor classStart;
    private readonly Tensor classCount;
    private readonly Tensor allLabels;
    private readonly long total;

    /// <summary>Groups the training set by label.</summary>
    /// <param name="labels">The training labels, int64 [N], values in [0, classes).</param>
    /// <param name="classes">The number of classes.</param>
    public ClassNegativeSampler(Tensor labels, int classes)
    {
        using var scope = NewDisposeScope();
        var cpuLabels = labels.to(int64).cpu();
        total = cpuLabels.shape[0];
        var (_, order) = cpuLabels.sort(stable: true);
        var counts = cpuLabels.bincount(null, classes).to(int64);
        if (counts.max().item<long>() == total)
        {
            throw new DistillSharpException("CRD negatives come from other classes, but the training set has a single class.");
        }
        var starts = counts.cumsum(0) - counts;
        sortedIndices = order.MoveToOuterDisposeScope();
        allLabels = cpuLabels.clone().MoveToOuterDisposeScope();
        classStart = starts.MoveToOuterDisposeScope();
        classCount = counts.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Contrast indices [B, K + 1] for positives <paramref name="indices"/> of classes <paramref name="labels"/>:
    /// column 0 the positive, columns 1..K other-class samples.
    /// </summary>
    public Tensor Sample(Tensor indices, Tensor labels, int negatives, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var y = labels.to(int64).cpu();
        var start = classStart.index_select(0, y).unsqueeze(1);
        var count = classCount.index_select(0, y).unsqueeze(1);
        var span = (total - count).to(float64);
        var r = (rand(new long[] { y.shape[0], negatives }, dtype: float64, generator: generator) * span).floor().to(int64);
        r = minimum(r, (total - count - 1));
        var position = r + r.ge(start).to(int64) * count;
        var negativesIdx = sortedIndices.index_select(0, position.reshape(-1)).view(y.shape[0], negatives);
        var available = total - count;
        if (negatives <= total && available.ge(negatives).any().item<bool>())
        {
            // Without replacement: K smallest uniform keys, same-class samples keyed out of reach (2 > any key).
            var keys = rand(new long[] { y.shape[0], total }, generator: generator);
            keys = keys.masked_fill(allLabels.unsqueeze(0).eq(y.unsqueeze(1)), 2.0);
            var (_, chosen) = keys.topk(negatives, dim: 1, largest: false, sorted: false);
            negativesIdx = where(available.lt(negatives), negativesIdx, chosen);
        }
        var result = cat(new[] { indices.to(int64).cpu().unsqueeze(1), negativesIdx }, 1);
        return result.to(indices.device).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        sortedIndices.Dispose();
        classStart.Dispose();
        classCount.Dispose();
        allLabels.Dispose();
    }
}
