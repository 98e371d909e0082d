using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// One batch from a <see cref="DataLoader"/>, all on the loader's device. The receiver owns the tensors:
/// dispose the batch when done with it.
/// </summary>
/// <param name="Images">float32 [B,C,H,W], augmented (training) and normalized.</param>
/// <param name="Labels">int64 [B] class labels.</param>
/// <param name="Indices">int64 [B] indices of the samples in the loader's dataset (contrastive methods
/// such as CRD key their memory banks on them).</param>
/// <remarks>
/// From a streamed dataset, images that could not be read are left out: the batch is then shorter than the loader's
/// batch size (it can even be empty), and <see cref="Skipped"/> names them.
/// </remarks>
public sealed record Batch(Tensor Images, Tensor Labels, Tensor Indices) : IDisposable
{
    /// <summary>The images of this batch's share of the epoch that could not be read and were left out.</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; init; } = [];

    /// <summary>The number of samples in the batch.</summary>
    public int Size => checked((int)Indices.shape[0]);

    /// <summary>Disposes the three tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Indices.Dispose();
    }
}
