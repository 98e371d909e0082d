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
public sealed record Batch(Tensor Images, Tensor Labels, Tensor Indices) : IDisposable
{
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
