namespace DistillSharp.Data;

/// <summary>
/// torchvision's ImageNet evaluation transform, <c>Resize(resize)</c> then <c>CenterCrop(crop)</c> (256 and 224): the
/// shorter side is resized to <c>resize</c> (bilinear, see <see cref="BilinearResampler"/>), then the central
/// <c>crop x crop</c> is kept. Deterministic.
/// </summary>
/// <remarks>
/// <para>Sizes as torchvision computes them: for an image W x H with W ≤ H the resized image is
/// <c>resize x trunc(resize · H / W)</c> (width x height), and symmetrically when H &lt; W; the crop's top row is
/// <c>round((H' - crop) / 2)</c> and its left column <c>round((W' - crop) / 2)</c> of the resized H' x W', halves to
/// even as Python's round. Only the window of the resized image that the crop keeps is computed.</para>
/// <para>Where it departs from torchvision: the bilinear resize is computed in float32 (PIL rounds its intermediate
/// rows to 8 bits), so a pixel can differ from PIL's by one level; JPEG is decoded by libjpeg-turbo inside SkiaSharp.</para>
/// </remarks>
public sealed class ResizeCenterCrop : ImageTransform
{
    /// <summary>Creates the transform; <paramref name="resize"/> must be at least <paramref name="crop"/>.</summary>
    public ResizeCenterCrop(int resize = 256, int crop = 224, bool antialias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(crop);
        if (resize < crop) throw new ArgumentOutOfRangeException(nameof(resize), resize, $"the resize ({resize}) must be at least the crop ({crop})");
        Resize = resize;
        Crop = crop;
        Antialias = antialias;
    }

    /// <summary>The shorter side after the resize.</summary>
    public int Resize { get; }

    /// <summary>The side of the central crop.</summary>
    public int Crop { get; }

    /// <summary>Whether the resize is antialiased (PIL's bilinear; false: PyTorch's plain bilinear interpolation).</summary>
    public bool Antialias { get; }

    /// <inheritdoc />
    public override int Height => Crop;

    /// <inheritdoc />
    public override int Width => Crop;

    /// <inheritdoc />
    public override bool IsRandom => false;

    /// <summary>The size of an image of <paramref name="width"/> x <paramref name="height"/> after the resize.</summary>
    public (int Height, int Width) ResizedSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width <= height) return ((int)((long)Resize * height / (double)width), Resize);
        return (Resize, (int)((long)Resize * width / (double)height));
    }

    /// <summary>The crop's box in the resized image of an image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public CropBox CropWindow(int width, int height)
    {
        var (h, w) = ResizedSize(width, height);
        return new CropBox((int)Math.Round((h - Crop) / 2.0, MidpointRounding.ToEven), (int)Math.Round((w - Crop) / 2.0, MidpointRounding.ToEven), Crop, Crop);
    }

    internal override string? Apply(DecodedImage image, SeededRandom? random, Span<byte> destination)
    {
        var (h, w) = ResizedSize(image.Width, image.Height);
        BilinearResampler.Resample(image, CropBox.Whole(image.Width, image.Height), h, w, CropWindow(image.Width, image.Height), Antialias, destination);
        return null;
    }
}
