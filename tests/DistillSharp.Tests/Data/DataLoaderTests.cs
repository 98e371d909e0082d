using DistillSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class DataLoaderTests
{
    /// <summary>A 3-channel 32x32 set of <paramref name="n"/> samples whose pixels encode the sample index.</summary>
    private static InMemoryImageDataset Numbered(int n, int classes = 10)
    {
        var pixels = new byte[n * 3 * 32 * 32];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 3 * 32 * 32; k++)
                pixels[i * 3072 + k] = (byte)((i + k) % 251);
        var labels = Enumerable.Range(0, n).Select(i => (long)(i * 7 % classes)).ToArray();
        return new InMemoryImageDataset("numbered", torch.tensor(pixels, [n, 3, 32, 32]), torch.tensor(labels), classes);
    }

    private static Augmentation Eval => Augmentation.Eval(DatasetCatalog.Info("cifar10"));

    private static Augmentation Train => Augmentation.Train(DatasetCatalog.Info("cifar10"));

    private static long[] Order(DataLoader loader, int epoch)
    {
        var all = new List<long>();
        foreach (var batch in loader.Epoch(epoch))
        {
            using (batch) all.AddRange(batch.Indices.data<long>().ToArray());
        }
        return all.ToArray();
    }

    [Theory]
    [InlineData(false, 8)]
    [InlineData(true, 7)]
    public void BatchesPerEpochAndDropLast(bool dropLast, int expectedBatches)
    {
        using var ds = Numbered(100);
        var loader = new DataLoader(ds, 13, shuffle: true, seed: 1, Eval, dropLast: dropLast);
        Assert.Equal(expectedBatches, loader.BatchesPerEpoch);
        var sizes = loader.Epoch(0).Select(b => { using (b) return b.Size; }).ToArray();
        Assert.Equal(expectedBatches, sizes.Length);
        Assert.All(sizes.Take(7), s => Assert.Equal(13, s));
        if (!dropLast) Assert.Equal(9, sizes[^1]);
    }

    [Fact]
    public void EveryIndexExactlyOncePerEpoch()
    {
        using var ds = Numbered(103);
        var loader = new DataLoader(ds, 10, shuffle: true, seed: 3, Train);
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), Order(loader, epoch).Order());

        var dropping = new DataLoader(ds, 10, shuffle: true, seed: 3, Train, dropLast: true);
        var kept = Order(dropping, 0);
        Assert.Equal(100, kept.Length);
        Assert.Equal(100, kept.Distinct().Count());
    }

    [Fact]
    public void SeededShufflesAreReproduciblePerEpoch()
    {
        using var ds = Numbered(200);
        var a = new DataLoader(ds, 32, shuffle: true, seed: 42, Train);
        var b = new DataLoader(ds, 32, shuffle: true, seed: 42, Train);
        var e3 = Order(a, 3);
        Assert.Equal(e3, Order(b, 3));                 // same seed and epoch, fresh loader, no earlier epochs
        Assert.Equal(e3, a.EpochOrder(3));
        Assert.NotEqual(e3, Order(a, 4));              // another epoch, another order
        Assert.NotEqual(e3, Order(new DataLoader(ds, 32, true, 43, Train), 3)); // another seed
        Assert.NotEqual(Enumerable.Range(0, 200).Select(i => (long)i), e3);

        var plain = new DataLoader(ds, 32, shuffle: false, seed: 42, Eval);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), Order(plain, 5));

        // The augmented images of a batch are reproducible too.
        using var first = a.Epoch(7).First();
        using var second = b.Epoch(7).First();
        Assert.Equal(first.Images.data<float>().ToArray(), second.Images.data<float>().ToArray());
    }

    [Fact]
    public void BatchesCarryTheSamplesTheirIndicesName()
    {
        using var ds = Numbered(50);
        var loader = new DataLoader(ds, 16, shuffle: true, seed: 8, Eval);
        var info = DatasetCatalog.Info("cifar10");
        foreach (var batch in loader.Epoch(2))
        {
            using (batch)
            {
                Assert.Equal(ScalarType.Float32, batch.Images.dtype);
                Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
                Assert.Equal(ScalarType.Int64, batch.Indices.dtype);
                var idx = batch.Indices.data<long>().ToArray();
                var labels = batch.Labels.data<long>().ToArray();
                var images = batch.Images.data<float>().ToArray();
                for (int j = 0; j < idx.Length; j++)
                {
                    long i = idx[j];
                    Assert.Equal(i * 7 % 10, labels[j]);
                    foreach (int k in new[] { 0, 1, 1500, 3071 })
                    {
                        int c = k / 1024;
                        double expected = ((i + k) % 251 / 255.0 - info.Mean[c]) / info.Std[c];
                        Assert.Equal(expected, images[j * 3072 + k], 5);
                    }
                }
            }
        }
    }

    [Fact]
    public void TrainingBatchesAreCropsAndFlipsOfTheSamplesTheirIndicesName()
    {
        const int n = 24;
        var pixels = new byte[n * 3072];
        new Random(21).NextBytes(pixels);
        using var ds = new InMemoryImageDataset("random", torch.tensor(pixels, [n, 3, 32, 32]), torch.tensor(new long[n]), 1);
        var info = DatasetCatalog.Info("cifar10");
        var loader = new DataLoader(ds, n, shuffle: true, seed: 5, Train);
        using var batch = loader.Epoch(1).Single();
        var idx = batch.Indices.data<long>().ToArray();
        var v = batch.Images.data<float>().ToArray();
        var draws = new HashSet<(int, int, bool)>();
        for (int j = 0; j < n; j++)
        {
            var matches = new List<(int, int, bool)>();
            for (int dy = 0; dy <= 8; dy++)
                for (int dx = 0; dx <= 8; dx++)
                    foreach (var flip in new[] { false, true })
                    {
                        bool all = true;
                        for (int k = 0; k < 3072 && all; k++)
                        {
                            int c = k / 1024, y = k / 32 % 32, x = k % 32;
                            double expected = (AugmentationTests.ReferencePixel(pixels, (int)idx[j], c, y, x, dy, dx, flip) / 255.0 - info.Mean[c]) / info.Std[c];
                            all = Math.Abs(expected - v[j * 3072 + k]) < 1e-5;
                        }
                        if (all) matches.Add((dy, dx, flip));
                    }
            Assert.Single(matches);
            draws.Add(matches[0]);
        }
        Assert.True(draws.Count > n / 2, "crop offsets and flips are drawn per sample");
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        using var ds = Numbered(10);
        var e = Assert.Throws<DistillSharpException>(() => new DataLoader(ds, 0, true, 1, Eval));
        Assert.Contains("batch size 0", e.Message);
        Assert.Throws<ArgumentException>(() => new DataLoader(ds, 4, true, 1, Augmentation.Eval(DatasetCatalog.Info("mnist"))));
    }
}
