namespace DistillSharp.Data;

/// <summary>
/// Resizes a box of a <see cref="DecodedImage"/> with bilinear filtering, in managed code (any thread, no tensor), and
/// writes a window of the result as uint8 planes <c>[3, H, W]</c> (red, green, blue).
/// </summary>
/// <remarks>
/// <para>The two axes are filtered one after the other in float32 (rows first, then columns); the result is rounded to
/// the nearest integer (halves up) and clamped to [0, 255]. Source pixel centres sit at half-integers, as with
/// <c>align_corners=False</c>. For an input of n pixels resized to m along an axis, with scale s = n / m:</para>
/// <para>Without antialiasing (PyTorch's <c>F.interpolate(mode="bilinear", antialias=False, align_corners=False)</c>):
/// output o reads the source position <c>u = max(s (o + 1/2) - 1/2, 0)</c>, i.e. pixels <c>i = floor(u)</c> and
/// <c>min(i + 1, n - 1)</c> with weights <c>1 - (u - i)</c> and <c>u - i</c>. A downscale by more than 2 then skips
/// pixels (aliasing).</para>
/// <para>With antialiasing (PIL's bilinear resize, which torchvision's <c>Resize</c> and <c>RandomResizedCrop</c> use
/// on PIL images, and PyTorch's <c>antialias=True</c>): output o has centre <c>c = s (o + 1/2)</c> and support
/// <c>r = max(s, 1)</c>; it averages the pixels j in <c>[trunc(c - r + 1/2), trunc(c + r + 1/2))</c> (clipped to the
/// image) with the triangle weights <c>max(0, 1 - |j + 1/2 - c| / r)</c>, normalised to sum to one. When upscaling
/// (s ≤ 1) both modes give the same weights.</para>
/// <para>PIL computes in fixed point and rounds the intermediate (row-filtered) image to 8 bits; this keeps it in
/// float32, so a pixel can differ from PIL's by one level.</para>
/// </remarks>
public static class BilinearResampler
{
    /// <summary>The planes of output pixels written: 3 (red, green, blue).</summary>
    public const int Channels = 3;

    /// <summary>
    /// Resizes <paramref name="box"/> of <paramref name="image"/> to <paramref name="outHeight"/> x
    /// <paramref name="outWidth"/> and writes the output pixels inside <paramref name="window"/> (a box of the resized
    /// image) to <paramref name="destination"/>, <c>3 x window.Height x window.Width</c> bytes, channel-major.
    /// Only the source rows and columns the window needs are read.
    /// </summary>
    public static void Resample(DecodedImage image, CropBox box, int outHeight, int outWidth, CropBox window, bool antialias, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!box.FitsIn(image.Width, image.Height))
            throw new ArgumentOutOfRangeException(nameof(box), box, $"the box must lie inside the {image.Width}x{image.Height} image");
        if (outHeight <= 0 || outWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(outHeight), $"the output size {outWidth}x{outHeight} must be positive");
        if (!window.FitsIn(outWidth, outHeight))
            throw new ArgumentOutOfRangeException(nameof(window), window, $"the window must lie inside the {outWidth}x{outHeight} output");
        int wh = window.Height, ww = window.Width;
        if (destination.Length != Channels * wh * ww)
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the window needs {Channels * wh * ww}.", nameof(destination));

        var rows = AxisFilter.Create(box.Height, outHeight, window.Top, wh, antialias);
        var cols = AxisFilter.Create(box.Width, outWidth, window.Left, ww, antialias);
        int firstRow = rows.FirstSource, rowCount = rows.EndSource - rows.FirstSource;

        // Rows first: every source row the window's rows read, filtered to the window's columns.
        var across = new float[rowCount * ww * Channels];
        var rgba = image.Rgba;
        for (int r = 0; r < rowCount; r++)
        {
            int rowStart = 4 * ((box.Top + firstRow + r) * image.Width + box.Left);
            int outStart = r * ww * Channels;
            for (int x = 0; x < ww; x++)
            {
                float red = 0, green = 0, blue = 0;
                int p = rowStart + 4 * cols.Start[x];
                int w0 = x * cols.Taps;
                for (int t = 0; t < cols.Count[x]; t++, p += 4)
                {
                    float w = cols.Weights[w0 + t];
                    red += w * rgba[p];
                    green += w * rgba[p + 1];
                    blue += w * rgba[p + 2];
                }
                int o = outStart + x * Channels;
                across[o] = red;
                across[o + 1] = green;
                across[o + 2] = blue;
            }
        }

        // Then columns: each output row from the filtered rows it reads.
        int plane = wh * ww;
        var sums = new float[ww * Channels];
        for (int y = 0; y < wh; y++)
        {
            Array.Clear(sums);
            int w0 = y * rows.Taps;
            for (int t = 0; t < rows.Count[y]; t++)
            {
                float w = rows.Weights[w0 + t];
                int source = (rows.Start[y] + t - firstRow) * ww * Channels;
                for (int i = 0; i < sums.Length; i++) sums[i] += w * across[source + i];
            }
            for (int x = 0; x < ww; x++)
            {
                for (int c = 0; c < Channels; c++)
                {
                    destination[c * plane + y * ww + x] = ToByte(sums[x * Channels + c]);
                }
            }
        }
    }

    /// <summary>Rounds to the nearest level, halves up, within [0, 255].</summary>
    internal static byte ToByte(float value) => (byte)Math.Clamp((int)MathF.Floor(value + 0.5f), 0, 255);

    /// <summary>
    /// The filter of one axis for the outputs <c>[outStart, outStart + outCount)</c> of a resize from
    /// <c>inSize</c> to <c>outSize</c>: output k (relative to outStart) reads the source pixels
    /// <c>Start[k] .. Start[k] + Count[k] - 1</c> with weights <c>Weights[k * Taps + t]</c>.
    /// </summary>
    internal sealed class AxisFilter
    {
        private AxisFilter(int[] start, int[] count, float[] weights, int taps)
        {
            Start = start;
            Count = count;
            Weights = weights;
            Taps = taps;
            FirstSource = start.Min();
            EndSource = start.Zip(count, (s, c) => s + c).Max();
        }

        public int[] Start { get; }
        public int[] Count { get; }
        public float[] Weights { get; }
        public int Taps { get; }
        public int FirstSource { get; }
        public int EndSource { get; }

        public static AxisFilter Create(int inSize, int outSize, int outStart, int outCount, bool antialias)
        {
            double scale = (double)inSize / outSize;
            var start = new int[outCount];
            var count = new int[outCount];
            var lists = new double[outCount][];
            for (int k = 0; k < outCount; k++)
            {
                int o = outStart + k;
                if (antialias)
                {
                    double support = Math.Max(scale, 1.0), inverse = 1.0 / support;
                    double center = scale * (o + 0.5);
                    int first = Math.Max((int)(center - support + 0.5), 0);
                    int end = Math.Min((int)(center + support + 0.5), inSize);
                    var w = new double[Math.Max(end - first, 1)];
                    double total = 0;
                    for (int j = 0; j < end - first; j++)
                    {
                        w[j] = Math.Max(0.0, 1.0 - Math.Abs((j + first - center + 0.5) * inverse));
                        total += w[j];
                    }
                    if (total > 0) for (int j = 0; j < w.Length; j++) w[j] /= total;
                    else w[0] = 1;   // cannot happen for a positive support; kept so a pixel is never dropped
                    start[k] = Math.Min(first, inSize - 1);
                    lists[k] = w;
                }
                else
                {
                    double u = Math.Max(scale * (o + 0.5) - 0.5, 0.0);
                    int i = Math.Min((int)u, inSize - 1);
                    double frac = Math.Min(u - i, 1.0);
                    start[k] = i;
                    lists[k] = i < inSize - 1 ? [1.0 - frac, frac] : [1.0];
                }
                count[k] = lists[k].Length;
            }
            int taps = count.Max();
            var weights = new float[outCount * taps];
            for (int k = 0; k < outCount; k++)
                for (int t = 0; t < count[k]; t++)
                    weights[k * taps + t] = (float)lists[k][t];
            return new AxisFilter(start, count, weights, taps);
        }
    }
}
