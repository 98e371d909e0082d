namespace DistillSharp.Data;

/// <summary>
/// torchvision's <c>RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3))</c>, the ImageNet training crop: a box of
/// random area and aspect ratio, resized (bilinear, see <see cref="BilinearResampler"/>) to <c>size x size</c>.
/// </summary>
/// <remarks>
/// <para>The box (torchvision's <c>get_params</c>): for an image of width W and height H, up to 10 attempts draw an
/// area <c>a = W H u</c> with u uniform in [scale min, scale max] and an aspect ratio <c>r = exp(v)</c> with v uniform
/// in [ln ratio min, ln ratio max]; <c>w = round(sqrt(a r))</c>, <c>h = round(sqrt(a / r))</c> (halves to even, as
/// Python's round). The first box that fits (<c>0 &lt; w ≤ W</c>, <c>0 &lt; h ≤ H</c>) is placed at a top row uniform
/// in [0, H - h] and a left column uniform in [0, W - w]. When none fits, the fallback is the central box of the
/// whole image clamped to the ratio range: <c>w = W, h = round(W / ratio min)</c> when <c>W/H &lt; ratio min</c>,
/// <c>h = H, w = round(H · ratio max)</c> when <c>W/H &gt; ratio max</c>, else the whole image; top
/// <c>(H - h) div 2</c>, left <c>(W - w) div 2</c>.</para>
/// <para>Where it departs from torchvision: the numbers come from DistillSharp's seeded generator (xoshiro256**),
/// seeded per sample from (seed, epoch, sample index), not from torch's global generator, so the boxes are the same on
/// any thread count but not the boxes torchvision draws; the bilinear resize is computed in float32 (PIL rounds its
/// intermediate rows to 8 bits), so pixels can differ from PIL's by one level; and the JPEG decoder is
/// libjpeg-turbo inside SkiaSharp rather than PIL's libjpeg build.</para>
/// </remarks>
public sealed class RandomResizedCrop : ImageTransform
{
    /// <summary>The attempts before the central fallback (torchvision's 10).</summary>
    public const int Attempts = 10;

    /// <summary>
    /// Creates the transform: output <paramref name="size"/> x <paramref name="size"/>; area fraction in
    /// [<paramref name="minScale"/>, <paramref name="maxScale"/>]; aspect ratio (width / height) in
    /// [<paramref name="minRatio"/>, <paramref name="maxRatio"/>], drawn log-uniformly; antialiased resize unless
    /// <paramref name="antialias"/> is false.
    /// </summary>
    public RandomResizedCrop(int size, double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0,
        bool antialias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(minScale), $"the scale range [{minScale}, {maxScale}] must satisfy 0 < min <= max <= 1");
        if (!(minRatio > 0 && minRatio <= maxRatio && double.IsFinite(maxRatio)))
            throw new ArgumentOutOfRangeException(nameof(minRatio), $"the ratio range [{minRatio}, {maxRatio}] must satisfy 0 < min <= max");
        Size = size;
        MinScale = minScale;
        MaxScale = maxScale;
        MinRatio = minRatio;
        MaxRatio = maxRatio;
        Antialias = antialias;
    }

    /// <summary>The output side.</summary>
    public int Size { get; }

    /// <summary>The smallest area fraction.</summary>
    public double MinScale { get; }

    /// <summary>The largest area fraction.</summary>
    public double MaxScale { get; }

    /// <summary>The smallest aspect ratio (width / height).</summary>
    public double MinRatio { get; }

    /// <summary>The largest aspect ratio.</summary>
    public double MaxRatio { get; }

    /// <summary>Whether the resize is antialiased (PIL's bilinear; false: PyTorch's plain bilinear interpolation).</summary>
    public bool Antialias { get; }

    /// <inheritdoc />
    public override int Height => Size;

    /// <inheritdoc />
    public override int Width => Size;

    /// <inheritdoc />
    public override bool IsRandom => true;

    /// <summary>
    /// The box drawn for sample <paramref name="index"/> of epoch <paramref name="epoch"/> with <paramref name="seed"/>
    /// (the loader's seed), in an image of <paramref name="width"/> x <paramref name="height"/>: the box the dataset crops.
    /// </summary>
    public CropBox SampleBox(int width, int height, long seed, int epoch, long index) => SampleBox(width, height, RandomFor(seed, epoch, index));

    internal CropBox SampleBox(int width, int height, SeededRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        double area = (double)width * height;
        double logMin = Math.Log(MinRatio), logMax = Math.Log(MaxRatio);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double target = area * random.NextUniform(MinScale, MaxScale);
            double ratio = Math.Exp(random.NextUniform(logMin, logMax));
            double w = Math.Round(Math.Sqrt(target * ratio), MidpointRounding.ToEven);
            double h = Math.Round(Math.Sqrt(target / ratio), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int bw = (int)w, bh = (int)h;
                int top = (int)random.NextBelow(height - bh + 1);
                int left = (int)random.NextBelow(width - bw + 1);
                return new CropBox(top, left, bh, bw);
            }
        }
        return CentralBox(width, height);
    }

    /// <summary>The fallback box: the whole image clamped to the ratio range, centred.</summary>
    public CropBox CentralBox(int width, int height)
    {
        double inRatio = (double)width / height;
        int w = width, h = height;
        if (inRatio < MinRatio) h = (int)Math.Round(w / MinRatio, MidpointRounding.ToEven);
        else if (inRatio > MaxRatio) w = (int)Math.Round(h * MaxRatio, MidpointRounding.ToEven);
        return new CropBox((height - h) / 2, (width - w) / 2, h, w);
    }

    internal override string? Apply(DecodedImage image, SeededRandom? random, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(random);
        var box = SampleBox(image.Width, image.Height, random);
        BilinearResampler.Resample(image, box, Size, Size, CropBox.Whole(Size, Size), Antialias, destination);
        return null;
    }
}
