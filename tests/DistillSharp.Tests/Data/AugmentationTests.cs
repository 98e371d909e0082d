using DistillSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class AugmentationTests
{
    internal const int B = 48, C = 3, H = 32, W = 32, Pad = 4;

    private static byte[] RandomPixels(int seed, int count = B)
    {
        var pixels = new byte[count * C * H * W];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    /// <summary>The test's own per-sample crop/flip of the zero-padded image, pixel by pixel.</summary>
    internal static byte ReferencePixel(byte[] pixels, int n, int c, int y, int x, int dy, int dx, bool flip)
    {
        int px = flip ? dx + (W - 1 - x) : dx + x;   // column in the padded image
        int py = dy + y;
        int sy = py - Pad, sx = px - Pad;            // position in the unpadded image
        if (sy < 0 || sy >= H || sx < 0 || sx >= W) return 0;
        return pixels[((n * C + c) * H + sy) * W + sx];
    }

    [Fact]
    public void CropFlipEqualsBruteForcePerSampleCrop()
    {
        var pixels = RandomPixels(11);
        var rng = new Random(5);
        var dy = Enumerable.Range(0, B).Select(_ => (long)rng.Next(0, 2 * Pad + 1)).ToArray();
        var dx = Enumerable.Range(0, B).Select(_ => (long)rng.Next(0, 2 * Pad + 1)).ToArray();
        var flip = Enumerable.Range(0, B).Select(_ => rng.Next(2) == 1).ToArray();
        dy[0] = 0; dx[0] = 0; dy[1] = 8; dx[1] = 8; flip[1] = true; // the extreme offsets are covered

        using var images = torch.tensor(pixels, [B, C, H, W]);
        using var output = Augmentation.CropFlip(images, Pad, dy, dx, flip);
        Assert.Equal(ScalarType.Byte, output.dtype);
        Assert.Equal(new long[] { B, C, H, W }, output.shape);
        var actual = output.data<byte>().ToArray();
        for (int n = 0; n < B; n++)
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        Assert.Equal(ReferencePixel(pixels, n, c, y, x, (int)dy[n], (int)dx[n], flip[n]), actual[((n * C + c) * H + y) * W + x]);
    }

    [Fact]
    public void FlipIsAnExactMirrorAndCentredCropIsTheIdentity()
    {
        var pixels = RandomPixels(12, 4);
        using var images = torch.tensor(pixels, [4, C, H, W]);
        using var flipped = Augmentation.CropFlip(images, 0, new long[4], new long[4], [true, true, true, true]);
        var f = flipped.data<byte>().ToArray();
        for (int i = 0; i < pixels.Length; i++)
        {
            int x = i % W, row = i / W;
            Assert.Equal(pixels[row * W + (W - 1 - x)], f[i]);
        }
        using var centred = Augmentation.CropFlip(images, Pad, [4, 4, 4, 4], [4, 4, 4, 4], new bool[4]);
        Assert.Equal(pixels, centred.data<byte>().ToArray());
    }

    [Fact]
    public void NormalizationEqualsFormula()
    {
        var pixels = RandomPixels(13, 8);
        var info = DatasetCatalog.Info("cifar100");
        using var images = torch.tensor(pixels, [8, C, H, W]);
        using var normalized = Augmentation.Eval(info).Normalize(images);
        Assert.Equal(ScalarType.Float32, normalized.dtype);
        var v = normalized.data<float>().ToArray();
        for (int i = 0; i < pixels.Length; i++)
        {
            int c = i / (H * W) % C;
            double expected = (pixels[i] / 255.0 - info.Mean[c]) / info.Std[c];
            Assert.True(Math.Abs(expected - v[i]) < 2e-6, $"element {i}: {v[i]} vs {expected}");
        }
        // The evaluation pipeline is normalization only.
        using var evaluated = Augmentation.Eval(info).Apply(images, seed: 1);
        Assert.Equal(v, evaluated.data<float>().ToArray());
    }

    [Fact]
    public void RandomAugmentationDrawsOffsetsAndFlipsPerSample()
    {
        // Random images: for each output sample exactly one (dy, dx, flip) can produce it. Recover it by
        // brute force over all 9 x 9 x 2 candidates, each computed by the test itself.
        var pixels = RandomPixels(14);
        var info = DatasetCatalog.Info("cifar10");
        var augmentation = Augmentation.Train(info);
        using var images = torch.tensor(pixels, [B, C, H, W]);
        using var output = augmentation.Apply(images, seed: 99);
        var v = output.data<float>().ToArray();
        var found = new List<(int dy, int dx, bool flip)>();
        for (int n = 0; n < B; n++)
        {
            var matches = new List<(int, int, bool)>();
            for (int dy = 0; dy <= 2 * Pad; dy++)
                for (int dx = 0; dx <= 2 * Pad; dx++)
                    foreach (var flip in new[] { false, true })
                    {
                        bool all = true;
                        for (int c = 0; c < C && all; c++)
                            for (int y = 0; y < H && all; y++)
                                for (int x = 0; x < W && all; x++)
                                {
                                    double expected = (ReferencePixel(pixels, n, c, y, x, dy, dx, flip) / 255.0 - info.Mean[c]) / info.Std[c];
                                    all = Math.Abs(expected - v[((n * C + c) * H + y) * W + x]) < 1e-5;
                                }
                        if (all) matches.Add((dy, dx, flip));
                    }
            Assert.Single(matches);
            found.Add(matches[0]);
        }
        // Offsets are within [0, 8] by construction of the search; they and the flips vary within the batch.
        Assert.True(found.Select(f => f.dy).Distinct().Count() >= 5, "row offsets should vary per sample");
        Assert.True(found.Select(f => f.dx).Distinct().Count() >= 5, "column offsets should vary per sample");
        Assert.Contains(found, f => f.flip);
        Assert.Contains(found, f => !f.flip);

        // Same seed, same result; another seed, another result.
        using var again = augmentation.Apply(images, seed: 99);
        Assert.Equal(v, again.data<float>().ToArray());
        using var other = augmentation.Apply(images, seed: 100);
        Assert.NotEqual(v, other.data<float>().ToArray());
    }

    [Fact]
    public void TrainingPipelines()
    {
        var cifar = Augmentation.Train(DatasetCatalog.Info("cifar100"));
        Assert.Equal(4, cifar.CropPadding);
        Assert.True(cifar.HorizontalFlip);
        var mnist = Augmentation.Train(DatasetCatalog.Info("mnist"));
        Assert.Equal(4, mnist.CropPadding);
        Assert.False(mnist.HorizontalFlip); // digits are not mirror-symmetric
        Assert.False(Augmentation.Eval(DatasetCatalog.Info("cifar10")).IsRandom);
    }
}
