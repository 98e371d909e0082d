using DistillSharp.Data;

namespace DistillSharp.Tests.Data;

public sealed class RandomResizedCropTests
{
    private static readonly RandomResizedCrop Crop = new(224);

    /// <summary>
    /// 20,000 boxes in a 1000 x 800 image: each lies inside it, covers 8% to 100% of its area and has an aspect ratio in
    /// [3/4, 4/3]. The bounds hold up to the rounding of w and h to whole pixels: the smallest possible side is
    /// sqrt(0.08 · 800,000 · 3/4) ≈ 219, so rounding moves the area and the ratio by under 2 · 0.5 / 219 < 0.5%; 1% is
    /// allowed. The draws also reach both ends of both ranges (a sampler stuck in the middle fails).
    /// </summary>
    [Fact]
    public void BoxesObeyTheAreaAndRatioBoundsOverManyDraws()
    {
        const int width = 1000, height = 800, draws = 20_000;
        double minArea = 1, maxArea = 0, minRatio = 10, maxRatio = 0;
        for (int i = 0; i < draws; i++)
        {
            var box = Crop.SampleBox(width, height, seed: 11, epoch: 1, index: i);
            Assert.True(box.FitsIn(width, height), $"box {box} is not inside the image");
            double area = (double)box.Width * box.Height / (width * height), ratio = (double)box.Width / box.Height;
            Assert.InRange(area, 0.08 * 0.99, 1.0);
            Assert.InRange(ratio, 0.75 * 0.99, 4.0 / 3.0 * 1.01);
            (minArea, maxArea) = (Math.Min(minArea, area), Math.Max(maxArea, area));
            (minRatio, maxRatio) = (Math.Min(minRatio, ratio), Math.Max(maxRatio, ratio));
        }
        Assert.True(minArea < 0.085 && maxArea > 0.95, $"areas seen: [{minArea:F3}, {maxArea:F3}]");
        Assert.True(minRatio < 0.76 && maxRatio > 1.32, $"ratios seen: [{minRatio:F3}, {maxRatio:F3}]");
    }

    /// <summary>
    /// In a square image acceptance is symmetric in ln r ↔ -ln r, so a log-uniform ratio is below 1 half of the time
    /// (± 0.012, three standard errors of 20,000 draws), and its mean log is 0 (± 0.004); a ratio uniform on [3/4, 4/3]
    /// would be below 1 in 43% of the draws. The box's top row is uniform over the free rows: its mean fraction is 1/2.
    /// </summary>
    [Fact]
    public void RatiosAreLogUniformAndPositionsUniform()
    {
        const int side = 1000, draws = 20_000;
        int below = 0;
        double logSum = 0, topSum = 0;
        int free = 0;
        for (int i = 0; i < draws; i++)
        {
            var box = Crop.SampleBox(side, side, seed: 5, epoch: 2, index: i);
            double ratio = (double)box.Width / box.Height;
            if (ratio < 1) below++;
            logSum += Math.Log(ratio);
            if (box.Height < side)
            {
                topSum += (double)box.Top / (side - box.Height);
                free++;
            }
        }
        Assert.InRange(below / (double)draws, 0.488, 0.512);
        Assert.InRange(logSum / draws, -0.004, 0.004);
        Assert.InRange(topSum / free, 0.49, 0.51);
    }

    [Theory]
    [InlineData(1000, 50, 0, 466, 50, 67)]    // too wide for any attempt: h = H, w = round(H · 4/3) = round(66.7)
    [InlineData(40, 1000, 473, 0, 53, 40)]    // too tall: w = W, h = round(W / (3/4)) = round(53.3)
    [InlineData(60, 50, 0, 0, 50, 60)]        // within the ratio range: the whole image
    public void TheFallbackIsTheCentralBoxClampedToTheRatioRange(int width, int height, int top, int left, int h, int w)
    {
        Assert.Equal(new CropBox(top, left, h, w), Crop.CentralBox(width, height));
        if (width / (double)height > 4.0 / 3.0 * 1.5 || height / (double)width > 4.0 / 3.0 * 1.5)
        {
            // No attempt can fit in so elongated an image, so every draw is the fallback.
            for (int i = 0; i < 50; i++) Assert.Equal(new CropBox(top, left, h, w), Crop.SampleBox(width, height, seed: 1, epoch: 1, index: i));
        }
    }

    [Fact]
    public void BoxesAreDeterministicPerSeedEpochAndSampleAndDifferOtherwise()
    {
        const int width = 500, height = 375, n = 200;
        var boxes = Enumerable.Range(0, n).Select(i => Crop.SampleBox(width, height, seed: 3, epoch: 4, index: i)).ToArray();
        Assert.Equal(boxes, Enumerable.Range(0, n).Select(i => Crop.SampleBox(width, height, seed: 3, epoch: 4, index: i)));
        // Drawn in another order (as threads would), each sample still gets its own box.
        Assert.Equal(boxes.Reverse(), Enumerable.Range(0, n).Reverse().Select(i => Crop.SampleBox(width, height, seed: 3, epoch: 4, index: i)));

        int Differ(Func<int, CropBox> other) => Enumerable.Range(0, n).Count(i => other(i) != boxes[i]);
        Assert.True(Differ(i => Crop.SampleBox(width, height, seed: 4, epoch: 4, index: i)) > n * 0.95);
        Assert.True(Differ(i => Crop.SampleBox(width, height, seed: 3, epoch: 5, index: i)) > n * 0.95);
        Assert.True(boxes.Distinct().Count() > n * 0.95);
    }

    [Fact]
    public void OutOfRangeSettingsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(224, minScale: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(224, minScale: 0.5, maxScale: 0.4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(224, minRatio: 2, maxRatio: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResizeCenterCrop(200, 224));
    }
}
