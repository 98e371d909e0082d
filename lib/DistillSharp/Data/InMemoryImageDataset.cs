using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// A dataset held in memory as ONE uint8 tensor [N,C,H,W] for all images plus an int64 label tensor [N];
/// <see cref="GetImages"/> is a single <c>index_select</c>. The dataset owns both tensors.
/// </summary>
public sealed class InMemoryImageDataset : IImageDataset
{
    private readonly Tensor _images;
    private readonly Tensor _labels;
    private bool _disposed;

    /// <summary>
    /// Wraps <paramref name="images"/> (uint8 [N,C,H,W], CPU) and <paramref name="labels"/> (int64 [N], CPU);
    /// the dataset takes ownership of both. Labels outside [0, <paramref name="numClasses"/>) are an error.
    /// </summary>
    public InMemoryImageDataset(string name, Tensor images, Tensor labels, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.dim() != 4 || images.dtype != ScalarType.Byte)
            throw new ArgumentException($"{name}: images must be a uint8 tensor [N,C,H,W]; got {images.dtype} [{string.Join(",", images.shape)}].", nameof(images));
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"{name}: labels must be an int64 tensor [N]; got {labels.dtype} [{string.Join(",", labels.shape)}].", nameof(labels));
        if (images.shape[0] != labels.shape[0])
            throw new ArgumentException($"{name}: {images.shape[0]} images but {labels.shape[0]} labels.", nameof(labels));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "must be positive");
        if (labels.shape[0] > 0)
        {
            using var minT = labels.min();
            using var maxT = labels.max();
            long min = minT.item<long>(), max = maxT.item<long>();
            if (min < 0 || max >= numClasses)
                throw new ArgumentException($"{name}: labels span [{min}, {max}], outside [0, {numClasses}).", nameof(labels));
        }
        if (images.device_type != DeviceType.CPU || labels.device_type != DeviceType.CPU)
            throw new ArgumentException($"{name}: images and labels must be on the CPU.");

        Name = name;
        _images = images.is_contiguous() ? images : images.contiguous();
        if (!ReferenceEquals(_images, images)) images.Dispose();
        _labels = labels;
        NumClasses = numClasses;
        Count = checked((int)images.shape[0]);
        Channels = checked((int)images.shape[1]);
        Height = checked((int)images.shape[2]);
        Width = checked((int)images.shape[3]);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int NumClasses { get; }

    /// <inheritdoc />
    public int Channels { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public Tensor Labels => _labels;

    /// <summary>All images, uint8 [N,C,H,W] on the CPU. Owned by the dataset: do not dispose.</summary>
    public Tensor Images => _images;

    /// <inheritdoc />
    public Tensor GetImages(Tensor indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _images.index_select(0, indices);
    }

    /// <summary>Frees the image and label tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _images.Dispose();
        _labels.Dispose();
    }
}
