using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// Reads a dataset in batches, in a seeded order, through an <see cref="Augmentation"/>, onto a device.
/// </summary>
/// <remarks>
/// <para>Reproducibility: every random choice derives from <see cref="Seed"/> and the epoch number alone,
/// never from earlier epochs, so any epoch can be replayed on its own (resuming a run at epoch 57 sees
/// exactly the batches an uninterrupted run would). With <see cref="Shuffle"/> the order of epoch e is a
/// Fisher-Yates permutation driven by a generator seeded from (seed, "shuffle", e); the crop offsets and
/// flips of batch k of epoch e come from a generator seeded from (seed, "augment", e, k), drawn sample by
/// sample (row offset, column offset, flip). The generator is DistillSharp's own (xoshiro256**), so the
/// results do not depend on the libtorch version, the device or the thread count.</para>
/// <para>Without <see cref="Shuffle"/> samples come in dataset order. Every sample appears exactly once per
/// epoch, except the last partial batch's samples with <see cref="DropLast"/>.</para>
/// <para>A streamed dataset (<see cref="IImageDataset.Reader"/>, e.g. <see cref="ImageFolderDataset"/>) is decoded on
/// background threads, <see cref="PrefetchBatches"/> batches ahead, into managed memory; the tensors are made on the
/// thread that enumerates the epoch. Its decode-time crops are seeded per sample from (seed, epoch, sample index), so
/// the batches do not depend on the thread count or on timing. An image that cannot be read is left out of its batch
/// and named in <see cref="Batch.Skipped"/>; the batch is then shorter (possibly empty).</para>
/// </remarks>
public sealed class DataLoader
{
    /// <summary>
    /// Creates a loader over <paramref name="dataset"/> (not owned: the caller disposes it).
    /// </summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (positive).</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a seeded random order.</param>
    /// <param name="seed">The seed of the order and of the augmentation.</param>
    /// <param name="augmentation">The image pipeline; its channel count must match the dataset's.</param>
    /// <param name="device">Where batches go; null for the CPU.</param>
    /// <param name="dropLast">Whether to leave out a last batch smaller than <paramref name="batchSize"/>.</param>
    public DataLoader(IImageDataset dataset, int batchSize, bool shuffle, long seed, Augmentation augmentation,
        Device? device = null, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(augmentation);
        if (batchSize <= 0)
            throw new DistillSharpException($"batch size {batchSize}: the batch size must be a positive number of samples.");
        if (augmentation.Mean.Count != dataset.Channels)
            throw new ArgumentException($"{dataset.Name} has {dataset.Channels} channels but the augmentation normalizes {augmentation.Mean.Count}.", nameof(augmentation));
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        Augmentation = augmentation;
        Device = device ?? torch.CPU;
        DropLast = dropLast;
    }

    /// <summary>The dataset read.</summary>
    public IImageDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether epochs are shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>The seed of shuffling and augmentation.</summary>
    public long Seed { get; }

    /// <summary>The image pipeline.</summary>
    public Augmentation Augmentation { get; }

    /// <summary>The device batches are put on.</summary>
    public Device Device { get; }

    /// <summary>Whether a last, smaller batch is left out.</summary>
    public bool DropLast { get; }

    /// <summary>Batches per epoch: Count/BatchSize rounded down with <see cref="DropLast"/>, else up.</summary>
    public int BatchesPerEpoch => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (all of them).</summary>
    public long[] EpochOrder(int epoch)
    {
        if (!Shuffle)
        {
            var order = new long[Dataset.Count];
            for (int i = 0; i < order.Length; i++) order[i] = i;
            return order;
        }
        return SeededRandom.Derive(Seed, Streams.Shuffle, epoch).Permutation(Dataset.Count);
    }

    /// <summary>
    /// For a streamed dataset (one with an <see cref="IImageDataset.Reader"/>): the batches decoded in the background
    /// beyond the one in use, 0 to 8 (default 2: while batch k trains, batches k+1 and k+2 are decoded).
    /// </summary>
    public int PrefetchBatches
    {
        get => _prefetch;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 8);
            _prefetch = value;
        }
    }

    private readonly int _prefetch = 2;

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, made lazily one at a time. Each batch is the
    /// receiver's to dispose. From a streamed dataset the images are decoded ahead on background threads
    /// (<see cref="PrefetchBatches"/>); the tensors are made on the enumerating thread.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        var order = EpochOrder(epoch);
        return Dataset.Reader is { } reader ? StreamedEpoch(reader, order, epoch) : InMemoryEpoch(order, epoch);
    }

    private IEnumerable<Batch> InMemoryEpoch(long[] order, int epoch)
    {
        int batches = BatchesPerEpoch;
        for (int k = 0; k < batches; k++)
        {
            int start = k * BatchSize;
            int size = Math.Min(BatchSize, order.Length - start);
            yield return MakeBatch(order.AsSpan(start, size).ToArray(), epoch, k);
        }
    }

    private IEnumerable<Batch> StreamedEpoch(ISampleReader reader, long[] order, int epoch)
    {
        int batches = BatchesPerEpoch;
        var slices = new long[batches][];
        for (int k = 0; k < batches; k++)
        {
            int start = k * BatchSize;
            slices[k] = order.AsSpan(start, Math.Min(BatchSize, order.Length - start)).ToArray();
        }
        using var prefetcher = new BatchPrefetcher(reader, slices, Seed, epoch, PrefetchBatches);
        for (int k = 0; k < batches; k++)
        {
            var decoded = prefetcher.Take(k);
            yield return MakeBatch(slices[k], decoded, epoch, k);
        }
    }

    private Batch MakeBatch(long[] sampleIndices, int epoch, int batchIndex)
    {
        using var scope = torch.NewDisposeScope();
        var indices = torch.tensor(sampleIndices, dtype: ScalarType.Int64);
        var images = Dataset.GetImages(indices);
        return Finish(images, indices, epoch, batchIndex);
    }

    /// <summary>A batch of a streamed dataset from its decoded pixels: the samples kept, with their labels and indices.</summary>
    private Batch MakeBatch(long[] sampleIndices, SampleBatch decoded, int epoch, int batchIndex)
    {
        using var scope = torch.NewDisposeScope();
        var kept = decoded.Kept.Length == sampleIndices.Length ? sampleIndices : decoded.Kept.Select(p => sampleIndices[p]).ToArray();
        var indices = torch.tensor(kept, dtype: ScalarType.Int64);
        Batch batch;
        if (kept.Length == 0)
        {
            var labels = torch.empty(0, dtype: ScalarType.Int64, device: Device);
            var images = torch.empty([0, Dataset.Channels, Dataset.Height, Dataset.Width], dtype: ScalarType.Float32, device: Device);
            batch = new Batch(images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), indices.to(Device).MoveToOuterDisposeScope());
        }
        else
        {
            var images = torch.tensor(decoded.Pixels, [kept.Length, Dataset.Channels, Dataset.Height, Dataset.Width], dtype: ScalarType.Byte);
            batch = Finish(images, indices, epoch, batchIndex);
        }
        return batch with { Skipped = decoded.Skipped };
    }

    /// <summary>Labels, device and augmentation for a batch's uint8 images (called inside the caller's DisposeScope).</summary>
    private Batch Finish(Tensor images, Tensor indices, int epoch, int batchIndex)
    {
        var labels = Dataset.Labels.index_select(0, indices);
        if (!IsOn(images)) images = images.to(Device);
        var processed = Augmentation.IsRandom
            ? Augmentation.Apply(images, SeededRandom.Derive(Seed, Streams.Augment, epoch, batchIndex))
            : Augmentation.Normalize(images);
        if (!IsOn(labels)) labels = labels.to(Device);
        if (!IsOn(indices)) indices = indices.to(Device);
        return new Batch(processed.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }

    private bool IsOn(Tensor t) =>
        t.device_type == Device.type && (Device.type == DeviceType.CPU || Device.index < 0 || t.device_index == Device.index);
}
