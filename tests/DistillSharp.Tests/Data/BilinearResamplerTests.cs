using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Tests.Support;

namespace DistillSharp.Tests.Data;

/// <summary>
/// The decode-time resize against two independent references: a bilinear interpolation written out plainly below
/// (PyTorch's documented <c>align_corners=False</c> rule, double precision, no shared code), and PyTorch's own
/// <c>F.interpolate</c> (antialias on and off) through tests/reference/image_transforms_reference.py. The output is
/// uint8 and the references are exact reals, so every pixel must be the reference rounded: within 0.5 plus float32's
/// accumulation error (1e-3 is far above it and far below a wrong weight's effect).
/// </summary>
public sealed class BilinearResamplerTests
{
    private const double Tolerance = 0.5 + 1e-3;

    /// <summary>An RGBA image from a pixel function.</summary>
    internal static DecodedImage Image(int width, int height, Func<int, int, int, byte> pixel)
    {
        var rgba = new byte[4 * width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = 4 * (y * width + x);
                for (int c = 0; c < 3; c++) rgba[p + c] = pixel(c, y, x);
                rgba[p + 3] = 255;
            }
        return new DecodedImage(width, height, rgba);
    }

    /// <summary>The reference script's picture: 6 x 10 flat blocks of 50 x 40 pixels.</summary>
    internal static byte Block(int c, int y, int x) => (byte)((67 * (y / 50) + 29 * (x / 40) + 101 * c + 13) % 256);

    /// <summary>
    /// Bilinear interpolation with <c>align_corners=False</c>, plainly: output pixel (y, x) of an oh x ow resize of the box
    /// reads the box at <c>sy = max((y + 1/2) bh / oh - 1/2, 0)</c> (likewise sx) between its four neighbours, clamped at
    /// the box's last row and column.
    /// </summary>
    private static double BruteForce(DecodedImage image, CropBox box, int oh, int ow, int c, int y, int x)
    {
        double sy = Math.Max((y + 0.5) * box.Height / oh - 0.5, 0), sx = Math.Max((x + 0.5) * box.Width / ow - 0.5, 0);
        int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
        int y1 = Math.Min(y0 + 1, box.Height - 1), x1 = Math.Min(x0 + 1, box.Width - 1);
        double ly = sy - y0, lx = sx - x0;
        double P(int yy, int xx) => image.At(c, box.Top + yy, box.Left + xx);
        return (1 - ly) * ((1 - lx) * P(y0, x0) + lx * P(y0, x1)) + ly * ((1 - lx) * P(y1, x0) + lx * P(y1, x1));
    }

    private static byte[] Resample(DecodedImage image, CropBox box, int oh, int ow, CropBox window, bool antialias)
    {
        var output = new byte[3 * window.Height * window.Width];
        BilinearResampler.Resample(image, box, oh, ow, window, antialias, output);
        return output;
    }

    [Theory]
    [InlineData(0, 0, 47, 61, 47, 61)]      // identity
    [InlineData(0, 0, 47, 61, 100, 130)]    // upscale
    [InlineData(5, 7, 30, 40, 13, 9)]       // downscale of a box, by more than 2 along x
    [InlineData(3, 2, 41, 58, 224, 224)]    // the ImageNet crop size
    [InlineData(10, 20, 1, 1, 3, 5)]        // a single pixel
    [InlineData(0, 0, 47, 61, 1, 1)]        // to a single pixel
    public void WithoutAntialiasingItIsThePlainBilinearInterpolation(int top, int left, int bh, int bw, int oh, int ow)
    {
        var random = new Random(7);
        var pixels = new byte[3, 47, 61];
        for (int c = 0; c < 3; c++) for (int y = 0; y < 47; y++) for (int x = 0; x < 61; x++) pixels[c, y, x] = (byte)random.Next(256);
        var image = Image(61, 47, (c, y, x) => pixels[c, y, x]);
        var box = new CropBox(top, left, bh, bw);
        var output = Resample(image, box, oh, ow, CropBox.Whole(ow, oh), antialias: false);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    double expected = BruteForce(image, box, oh, ow, c, y, x);
                    byte actual = output[(c * oh + y) * ow + x];
                    Assert.True(Math.Abs(actual - expected) <= Tolerance, $"channel {c} at ({y}, {x}): expected {expected:F4}, got {actual}");
                }
    }

    [Fact]
    public void AWindowIsThatPartOfTheWholeResize()
    {
        var image = Image(61, 47, (c, y, x) => (byte)((c * 90 + y * 11 + x * 5) % 256));
        var box = new CropBox(2, 3, 40, 50);
        foreach (bool antialias in new[] { true, false })
        {
            var whole = Resample(image, box, 30, 70, CropBox.Whole(70, 30), antialias);
            var window = new CropBox(4, 9, 20, 33);
            var part = Resample(image, box, 30, 70, window, antialias);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 20; y++)
                    for (int x = 0; x < 33; x++)
                        Assert.Equal(whole[(c * 30 + y + 4) * 70 + x + 9], part[(c * 20 + y) * 33 + x]);
        }
    }

    public static TheoryData<string, bool> GoldenCases() => new()
    {
        { "eval", true }, { "eval", false }, { "box_up", true }, { "box_up", false }, { "box_down", true }, { "box_down", false },
    };

    /// <summary>
    /// Resize(256) + CenterCrop(224) and two resized boxes of the block picture against PyTorch's interpolate, on the
    /// rows the reference stores (rows that cross block edges, and the first and last); for the plain mode the brute
    /// force above is checked against PyTorch too.
    /// </summary>
    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void ResizesMatchPyTorchsInterpolate(string name, bool antialias)
    {
        var golden = Golden.Load("image_transforms.json");
        var image = Image(golden.GetProperty("width").GetInt32(), golden.GetProperty("height").GetInt32(), Block);
        byte[] output;
        CropBox box;
        int oh = 224, ow = 224, oy = 0, ox = 0;   // the size of the whole resize, and the crop's offset in it
        if (name == "eval")
        {
            var e = golden.GetProperty("eval");
            var transform = new ResizeCenterCrop(e.GetProperty("resize").GetInt32(), e.GetProperty("crop").GetInt32(), antialias);
            Assert.Equal((e.GetProperty("resized_height").GetInt32(), e.GetProperty("resized_width").GetInt32()), transform.ResizedSize(image.Width, image.Height));
            var window = transform.CropWindow(image.Width, image.Height);
            Assert.Equal((e.GetProperty("top").GetInt32(), e.GetProperty("left").GetInt32()), (window.Top, window.Left));
            output = new byte[transform.OutputBytes];
            Assert.Null(transform.Apply(image, null, output));
            box = CropBox.Whole(image.Width, image.Height);
            (oh, ow, oy, ox) = (e.GetProperty("resized_height").GetInt32(), e.GetProperty("resized_width").GetInt32(), window.Top, window.Left);
        }
        else
        {
            var b = golden.GetProperty("boxes").GetProperty(name).Longs();
            box = new CropBox((int)b[0], (int)b[1], (int)b[2], (int)b[3]);
            output = Resample(image, box, 224, 224, CropBox.Whole(224, 224), antialias);
        }
        var rows = golden.GetProperty("rows").Longs();
        var values = golden.GetProperty("cases").GetProperty($"{name}/{(antialias ? "antialias" : "plain")}");
        for (int c = 0; c < 3; c++)
        {
            var planes = values[c].EnumerateArray().ToArray();
            for (int r = 0; r < rows.Length; r++)
            {
                var expected = planes[r].EnumerateArray().Select(v => v.GetDouble()).ToArray();
                Assert.Equal(224, expected.Length);
                for (int x = 0; x < 224; x++)
                {
                    byte actual = output[(c * 224 + rows[r]) * 224 + x];
                    Assert.True(Math.Abs(actual - expected[x]) <= Tolerance,
                        $"{name}, channel {c} at ({rows[r]}, {x}): PyTorch {expected[x]:F4}, got {actual}");
                    if (!antialias)
                    {
                        double brute = BruteForce(image, box, oh, ow, c, (int)rows[r] + oy, x + ox);
                        Assert.True(Math.Abs(brute - expected[x]) <= 1e-3, $"the brute force gives {brute:F4} where PyTorch gives {expected[x]:F4}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Where the filter's whole support lies inside one block, the output is that block's value exactly, in both
    /// modes: checked over the whole 224 x 224 evaluation crop (about three quarters of its pixels), not just the
    /// reference's rows. The support is the source interval [c - r, c + r] around the centre c = s (o + 1/2) of output
    /// o (with the crop's offset), r = max(s, 1), widened by a pixel for the plain mode's neighbours.
    /// </summary>
    [Fact]
    public void InsideABlockTheEvaluationCropIsTheBlockValue()
    {
        var image = Image(400, 300, Block);
        foreach (bool antialias in new[] { true, false })
        {
            var transform = new ResizeCenterCrop(256, 224, antialias);
            var (rh, rw) = transform.ResizedSize(400, 300);
            var window = transform.CropWindow(400, 300);
            var output = new byte[transform.OutputBytes];
            transform.Apply(image, null, output);
            double sy = 300.0 / rh, sx = 400.0 / rw;
            int checkedPixels = 0;
            for (int y = 0; y < 224; y++)
            {
                double cy = sy * (y + window.Top + 0.5), ry = Math.Max(sy, 1) + 1;
                int b0 = (int)Math.Floor((cy - ry) / 50), b1 = (int)Math.Floor((cy + ry) / 50);
                if (b0 != b1) continue;
                for (int x = 0; x < 224; x++)
                {
                    double cx = sx * (x + window.Left + 0.5), rx = Math.Max(sx, 1) + 1;
                    if ((int)Math.Floor((cx - rx) / 40) != (int)Math.Floor((cx + rx) / 40)) continue;
                    int sourceY = (int)cy, sourceX = (int)cx;
                    for (int c = 0; c < 3; c++) Assert.Equal(Block(c, sourceY, sourceX), output[(c * 224 + y) * 224 + x]);
                    checkedPixels++;
                }
            }
            Assert.True(checkedPixels > 224 * 224 / 2, $"only {checkedPixels} pixels lie inside blocks");
        }
    }
}
