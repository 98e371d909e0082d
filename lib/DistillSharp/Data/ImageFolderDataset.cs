using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// An image-folder dataset streamed from disk (CINIC-10, ImageNet): only the file list and the labels are held
/// (<see cref="ImageFolderIndex"/>); images are decoded when a batch asks for them, with SkiaSharp
/// (<see cref="ImageDecoder"/>), on up to <see cref="DecodeThreads"/> threads, through the split's
/// <see cref="ImageTransform"/> (the decode-time crop and resize), into managed memory. A <see cref="DataLoader"/>
/// reads it through <see cref="Reader"/>, ahead of the batch in use, and makes the tensors on its own thread.
/// </summary>
/// <remarks>
/// An image that cannot be read (a missing, truncated or damaged file, or one of the wrong size) is skipped: the batch
/// is one sample shorter, its labels and indices are those of the samples kept, and the loader's batch lists the file
/// and the reason (<see cref="Batch.Skipped"/>), which the trainer writes to the run's log.
/// </remarks>
public sealed class ImageFolderDataset : IImageDataset, ISampleReader
{
    private readonly ImageFolderIndex _index;
    private readonly Tensor _labels;
    private bool _disposed;

    /// <summary>
    /// Creates the dataset over <paramref name="index"/>'s files; images go through <paramref name="transform"/>.
    /// </summary>
    /// <param name="name">The dataset's name, e.g. <c>imagenet/train</c>.</param>
    /// <param name="index">The files and labels.</param>
    /// <param name="transform">The decode-time transform; it sets the image size.</param>
    /// <param name="numClasses">The classes of the dataset (at least the index's classes).</param>
    /// <param name="decodeThreads">Threads that decode one batch; null for <see cref="Environment.ProcessorCount"/>.</param>
    public ImageFolderDataset(string name, ImageFolderIndex index, ImageTransform transform, int numClasses, int? decodeThreads = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(transform);
        if (numClasses < index.Classes.Count)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"{index.Folder} has {index.Classes.Count} class folders");
        if (decodeThreads is < 1) throw new ArgumentOutOfRangeException(nameof(decodeThreads), decodeThreads, "at least one decoding thread is needed");
        Name = name;
        _index = index;
        Transform = transform;
        NumClasses = numClasses;
        DecodeThreads = decodeThreads ?? Environment.ProcessorCount;
        _labels = torch.tensor(index.Labels(), dtype: ScalarType.Int64);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The files and labels.</summary>
    public ImageFolderIndex Index => _index;

    /// <summary>The decode-time transform.</summary>
    public ImageTransform Transform { get; }

    /// <inheritdoc />
    public int Count => _index.Count;

    /// <inheritdoc />
    public int NumClasses { get; }

    /// <inheritdoc />
    public int Channels => BilinearResampler.Channels;

    /// <inheritdoc />
    public int Height => Transform.Height;

    /// <inheritdoc />
    public int Width => Transform.Width;

    /// <inheritdoc />
    public Tensor Labels => _labels;

    /// <inheritdoc />
    public int DecodeThreads { get; }

    /// <inheritdoc />
    public ISampleReader Reader => this;

    /// <inheritdoc />
    public SampleBatch Read(IReadOnlyList<long> indices, long seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = indices.Count, size = Transform.OutputBytes;
        foreach (var i in indices)
        {
            if (i < 0 || i >= Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"index outside [0, {Count}) of {Name}");
        }
        if ((long)n * size > Array.MaxLength)
            throw new DistillSharpException($"a batch of {n} images of {Channels}x{Height}x{Width} does not fit one array; use a smaller --batch-size.");
        var pixels = new byte[n * size];
        var reasons = new string?[n];
        try
        {
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = DecodeThreads }, k =>
            {
                long index = indices[k];
                var image = ImageDecoder.TryDecode(_index.PathOf((int)index), out var reason);
                reasons[k] = image is null
                    ? reason
                    : Transform.Apply(image, Transform.IsRandom ? ImageTransform.RandomFor(seed, epoch, index) : null, pixels.AsSpan(k * size, size));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        var kept = Enumerable.Range(0, n).Where(k => reasons[k] is null).ToArray();
        var skipped = Enumerable.Range(0, n).Where(k => reasons[k] is not null)
            .Select(k => new SkippedImage(_index.PathOf((int)indices[k]), reasons[k]!)).ToArray();
        if (kept.Length < n)
        {
            var compact = new byte[(long)kept.Length * size];
            for (int j = 0; j < kept.Length; j++) Array.Copy(pixels, (long)kept[j] * size, compact, (long)j * size, size);
            pixels = compact;
        }
        return new SampleBatch(pixels, kept, skipped);
    }

    /// <summary>
    /// The images at <paramref name="indices"/>, decoded now on this thread's behalf (seed 0, epoch 0 for a random
    /// transform), as uint8 <c>[B, 3, H, W]</c>. An unreadable image is an error here, since the batch cannot be shorter
    /// than asked; the <see cref="DataLoader"/> reads through <see cref="Read"/> and skips it instead.
    /// </summary>
    /// <exception cref="DistillSharpException">An image cannot be read; the message names the file.</exception>
    public Tensor GetImages(Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var cpu = indices.to_type(ScalarType.Int64).cpu();
        var list = cpu.data<long>().ToArray();
        var batch = Read(list, seed: 0, epoch: 0);
        if (batch.Skipped.Count > 0)
        {
            var s = batch.Skipped[0];
            throw new DistillSharpException($"{s.Path} {s.Reason}; replace or delete the file (the data loader skips such files).");
        }
        return torch.tensor(batch.Pixels, [list.Length, Channels, Height, Width], dtype: ScalarType.Byte);
    }

    /// <summary>Frees the label tensor.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _labels.Dispose();
    }
}
