namespace DistillSharp.Data;

/// <summary>
/// Reads samples of a dataset streamed from files into managed memory. <see cref="Read"/> may be called from any
/// thread and makes no TorchSharp tensor: the <see cref="DataLoader"/> calls it on background threads, ahead of the
/// batch in use, and builds the batch's tensors on its own thread.
/// </summary>
public interface ISampleReader
{
    /// <summary>The threads one <see cref="Read"/> decodes on at most.</summary>
    int DecodeThreads { get; }

    /// <summary>
    /// Decodes the samples at <paramref name="indices"/> (each in [0, Count) of the dataset) for epoch
    /// <paramref name="epoch"/> of a loader seeded with <paramref name="seed"/>. An image that cannot be read is left out
    /// and listed in <see cref="SampleBatch.Skipped"/>, never an exception. The result depends on the indices, the seed
    /// and the epoch alone (not on the thread count or timing).
    /// </summary>
    SampleBatch Read(IReadOnlyList<long> indices, long seed, int epoch);
}

/// <summary>Samples decoded by an <see cref="ISampleReader"/>.</summary>
/// <param name="Pixels">uint8 images <c>[Kept.Length, C, H, W]</c>, row-major, in the order of <paramref name="Kept"/>.</param>
/// <param name="Kept">The positions, in the requested indices, of the samples decoded, ascending.</param>
/// <param name="Skipped">The samples that could not be read, with the reason.</param>
public sealed record SampleBatch(byte[] Pixels, int[] Kept, IReadOnlyList<SkippedImage> Skipped);

/// <summary>An image left out of a batch because it could not be read.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">Why, e.g. "is truncated: its image data ends early".</param>
public sealed record SkippedImage(string Path, string Reason)
{
    /// <summary>The warning line for a run's log: <c>warning: skipped PATH, which REASON</c>.</summary>
    public override string ToString() => $"warning: skipped image {Path}, which {Reason}";
}
