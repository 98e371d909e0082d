namespace DistillSharp.Data;

/// <summary>
/// What a streamed dataset does to each image as it is decoded, on the decoding thread: the part of the pipeline that
/// depends on an image's own size (cropping and resizing it to the dataset's one size). What works on whole batches
/// (flip, the CIFAR crop, normalisation) stays in <see cref="Augmentation"/>. Output: uint8 planes <c>[3, Height, Width]</c>.
/// </summary>
/// <remarks>
/// A random transform draws from DistillSharp's seeded generator, seeded from (seed, epoch, sample index) alone
/// (<see cref="RandomFor"/>), so the same seed gives the same images on any number of decoding threads, in any order,
/// and a resumed run sees exactly the images of an uninterrupted one.
/// </remarks>
public abstract class ImageTransform
{
    private protected ImageTransform()
    {
    }

    /// <summary>Output height in pixels.</summary>
    public abstract int Height { get; }

    /// <summary>Output width in pixels.</summary>
    public abstract int Width { get; }

    /// <summary>Whether the transform draws random numbers.</summary>
    public abstract bool IsRandom { get; }

    /// <summary>Bytes of one output image: 3 x Height x Width.</summary>
    public int OutputBytes => BilinearResampler.Channels * Height * Width;

    /// <summary>
    /// Writes the transformed <paramref name="image"/> to <paramref name="destination"/> (<see cref="OutputBytes"/>
    /// bytes, channel-major); returns null, or why the image cannot be used (e.g. a size the dataset does not have).
    /// <paramref name="random"/> is the sample's generator, null for a transform that is not random.
    /// </summary>
    internal abstract string? Apply(DecodedImage image, SeededRandom? random, Span<byte> destination);

    /// <summary>The generator of sample <paramref name="index"/> in epoch <paramref name="epoch"/> of a run with <paramref name="seed"/>.</summary>
    internal static SeededRandom RandomFor(long seed, int epoch, long index) => SeededRandom.Derive(seed, Streams.Crop, epoch, index);
}

/// <summary>
/// Images used as stored, all of one size (CINIC-10's 32x32): the pixels are copied, and an image of another size is
/// refused (the sample is skipped with the reason).
/// </summary>
public sealed class AsStoredTransform : ImageTransform
{
    /// <summary>Accepts images of exactly <paramref name="height"/> x <paramref name="width"/>.</summary>
    public AsStoredTransform(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        Height = height;
        Width = width;
    }

    /// <inheritdoc />
    public override int Height { get; }

    /// <inheritdoc />
    public override int Width { get; }

    /// <inheritdoc />
    public override bool IsRandom => false;

    internal override string? Apply(DecodedImage image, SeededRandom? random, Span<byte> destination)
    {
        if (image.Width != Width || image.Height != Height)
            return $"is {image.Width}x{image.Height}, not {Width}x{Height} as every image of this dataset";
        int plane = Height * Width;
        var rgba = image.Rgba;
        for (int p = 0; p < plane; p++)
        {
            destination[p] = rgba[4 * p];
            destination[plane + p] = rgba[4 * p + 1];
            destination[2 * plane + p] = rgba[4 * p + 2];
        }
        return null;
    }
}
