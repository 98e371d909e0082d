using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// <c>--subset N</c>: the first N samples of a seeded class-balanced shuffle. Each class's sample indices
/// are permuted with a generator seeded from (seed, class); the shuffle then takes one sample of each class
/// in turn (class 0, 1, ..., K-1, then the second of each, ...), skipping classes that have run out. Any
/// prefix is therefore as balanced as the classes allow: per-class counts differ by at most one while
/// every class still has samples left.
/// </summary>
public static class ClassBalancedSubset
{
    /// <summary>
    /// The dataset indices of the first <paramref name="count"/> samples of the class-balanced shuffle of
    /// <paramref name="labels"/> (int64 [N], values in [0, <paramref name="numClasses"/>)).
    /// </summary>
    /// <param name="labels">The split's labels.</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="count">The subset's size.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="split">Which split the labels are, for the message (default: the training split).</param>
    /// <param name="splitName">The split's dataset name for the message, e.g. <c>fashion-mnist/test</c>, or null.</param>
    /// <exception cref="DistillSharpException"><paramref name="count"/> is not in [1, N]; the message names the split's option and size.</exception>
    public static long[] Indices(Tensor labels, int numClasses, int count, long seed, SubsetSplit? split = null, string? splitName = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        split ??= SubsetSplit.Training;
        long n = labels.shape[0];
        if (count <= 0 || count > n)
        {
            throw new DistillSharpException(
                $"{split.Option} {count}: the {split.Split}{(splitName is null ? "" : $" ({splitName})")} has {n} images; " +
                $"choose a size from 1 to {n}, or leave {split.Option} out to use the whole split.");
        }
        using var cpu = labels.to_type(ScalarType.Int64).cpu();
        var values = cpu.data<long>().ToArray();

        var perClass = new List<long>[numClasses];
        for (int c = 0; c < numClasses; c++) perClass[c] = [];
        for (long i = 0; i < values.LongLength; i++)
        {
            long c = values[i];
            if (c < 0 || c >= numClasses)
                throw new ArgumentException($"label {c} at index {i} is outside [0, {numClasses})", nameof(labels));
            perClass[c].Add(i);
        }

        var shuffled = new long[numClasses][];
        for (int c = 0; c < numClasses; c++)
        {
            shuffled[c] = perClass[c].ToArray();
            SeededRandom.Derive(seed, Streams.Subset, c).Shuffle(shuffled[c]);
        }

        var result = new long[count];
        int taken = 0;
        for (int round = 0; taken < count; round++)
        {
            for (int c = 0; c < numClasses && taken < count; c++)
            {
                if (round < shuffled[c].Length) result[taken++] = shuffled[c][round];
            }
        }
        return result;
    }

    /// <summary>
    /// A view of the first <paramref name="count"/> samples of <paramref name="source"/>'s class-balanced
    /// shuffle (see <see cref="Indices"/>). With <paramref name="ownsSource"/> the view disposes the source. A size
    /// the split cannot give is an error naming the split's option (<see cref="SubsetSplit.Of"/> unless
    /// <paramref name="split"/> says) and its size.
    /// </summary>
    public static SubsetImageDataset Create(IImageDataset source, int count, long seed, bool ownsSource = false, SubsetSplit? split = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var indices = Indices(source.Labels, source.NumClasses, count, seed, split ?? SubsetSplit.Of(source), source.Name);
        return new SubsetImageDataset(source, indices, ownsSource);
    }
}
