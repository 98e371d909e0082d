using DistillSharp.Data;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class ImageFolderDatasetTests
{
    private static readonly string[] CinicClasses = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    private static DataLocation Named(string root) => new(root, DataLocationSource.Argument, null);

    private static DatasetSplits Load(string name, string root, int? threads = null) =>
        DatasetCatalog.Load(name, Named(root), new DatasetLoadOptions { DecodeThreads = threads });

    private static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    private static byte[] Bytes(Tensor t)
    {
        using var c = t.contiguous();
        return c.data<byte>().ToArray();
    }

    [Fact]
    public void ACinicFolderLoadsWithItsClassesInOrderAndThePngPixelsExactly()
    {
        using var dir = new TempDir();
        // Written in reverse alphabetical order: the classes still come sorted.
        ImageFiles.Cinic10(dir.Path, CinicClasses.Reverse().ToArray(), train: 3, test: 2);
        using var data = Load("cinic10", dir.Path);
        Assert.Equal("cinic10", data.Info.Name);
        var train = Assert.IsType<ImageFolderDataset>(data.Train);
        Assert.Equal(CinicClasses, train.Index.Classes);
        Assert.Equal((30, 20), (data.Train.Count, data.Test.Count));
        Assert.Equal((3, 32, 32, 10), (data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.NumClasses));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)(i / 3)), data.Train.Labels.data<long>().ToArray());
        Assert.Equal("cinic10/test", data.Test.Name);
        Assert.Equal(SubsetSplit.Test, SubsetSplit.Of(data.Test));

        // Image k of the training split is the file train-<k mod 3>.png of class k / 3, which the layout wrote as image
        // number (9 - k / 3) * 3 + k mod 3 (the classes were written in reverse).
        using var indices = torch.tensor(new long[] { 0, 4, 29, 17 });
        using var images = data.Train.GetImages(indices);
        Assert.Equal([4L, 3, 32, 32], images.shape);
        var bytes = Bytes(images);
        long[] picked = [0, 4, 29, 17];
        for (int b = 0; b < picked.Length; b++)
        {
            int k = (int)picked[b], written = (9 - k / 3) * 3 + k % 3;
            var expected = ImageFiles.Numbered(written);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        Assert.Equal(expected(c, y, x), bytes[((b * 3 + c) * 32 + y) * 32 + x]);
        }
    }

    /// <summary>
    /// The streamed path gives exactly the batches of the in-memory path over the same pixels: the same order, labels,
    /// indices, and the same pad-4 crops and flips (drawn per batch from the loader's seed), normalised with CINIC-10's
    /// statistics.
    /// </summary>
    [Fact]
    public void TheStreamedLoaderGivesTheBatchesOfTheSameImagesHeldInMemory()
    {
        using var dir = new TempDir();
        ImageFiles.Cinic10(dir.Path, CinicClasses, train: 4, test: 1);
        using var data = Load("cinic10", dir.Path, threads: 3);
        using var all = torch.arange(data.Train.Count, dtype: ScalarType.Int64);
        using var memory = new InMemoryImageDataset("copy", data.Train.GetImages(all), data.Train.Labels.clone(), 10);
        var augmentation = Augmentation.Train(data.Info);
        Assert.Equal((4, true), (augmentation.CropPadding, augmentation.HorizontalFlip));
        var streamed = new DataLoader(data.Train, 7, shuffle: true, seed: 9, augmentation);
        var held = new DataLoader(memory, 7, shuffle: true, seed: 9, augmentation);
        foreach (var epoch in new[] { 1, 2 })
        {
            var a = streamed.Epoch(epoch).ToList();
            var b = held.Epoch(epoch).ToList();
            Assert.Equal(b.Count, a.Count);
            for (int k = 0; k < a.Count; k++)
            {
                Assert.Empty(a[k].Skipped);
                Assert.Equal(b[k].Indices.data<long>().ToArray(), a[k].Indices.data<long>().ToArray());
                Assert.Equal(b[k].Labels.data<long>().ToArray(), a[k].Labels.data<long>().ToArray());
                Assert.True(Same(a[k].Images, b[k].Images), $"epoch {epoch}, batch {k}");
            }
            foreach (var batch in a.Concat(b)) batch.Dispose();
        }
    }

    /// <summary>
    /// The ImageNet evaluation transform through the whole path (folder, decoder, Resize(256) + CenterCrop(224)): the
    /// block picture written as a lossless PNG into a validation class folder comes out as PyTorch resizes it.
    /// </summary>
    [Fact]
    public void TheImageNetValidationSplitIsResize256AndCenterCrop224()
    {
        using var dir = new TempDir();
        ImageFiles.ImageNet(dir.Path, ["n01440764", "n01443537"], train: 1, val: 1, width: 64, height: 80);
        ImageFiles.Png(dir.File("imagenet", "val", "n01443537", "blocks.png"), 400, 300, (c, y, x) => BilinearResamplerTests.Block(c, y, x));
        using var data = Load("imagenet", dir.Path);
        Assert.Equal(("imagenet/val", 3, 224, 224, 1000), (data.Test.Name, data.Test.Count, data.Test.Height, data.Test.Width, data.Test.NumClasses));
        var index = Assert.IsType<ImageFolderDataset>(data.Test).Index;
        Assert.Equal(dir.File("imagenet", "val", "n01443537", "blocks.png"), index.PathOf(1));   // "b" sorts before "n01443537_0"

        using var which = torch.tensor(new long[] { 1 });
        using var images = data.Test.GetImages(which);
        var bytes = Bytes(images);
        var golden = Golden.Load("image_transforms.json");
        var rows = golden.GetProperty("rows").Longs();
        var planes = golden.GetProperty("cases").GetProperty("eval/antialias");
        for (int c = 0; c < 3; c++)
        {
            var values = planes[c].EnumerateArray().ToArray();
            for (int r = 0; r < rows.Length; r++)
            {
                var expected = values[r].EnumerateArray().Select(v => v.GetDouble()).ToArray();
                for (int x = 0; x < 224; x++)
                {
                    byte actual = bytes[(c * 224 + rows[r]) * 224 + x];
                    Assert.True(Math.Abs(actual - expected[x]) <= 0.501, $"channel {c} at ({rows[r]}, {x}): PyTorch {expected[x]:F4}, got {actual}");
                }
            }
        }
        // The training split crops at random, as it decodes; its loader pipeline only flips and normalises.
        Assert.IsType<RandomResizedCrop>(Assert.IsType<ImageFolderDataset>(data.Train).Transform);
        var train = Augmentation.Train(data.Info);
        Assert.Equal((0, true), (train.CropPadding, train.HorizontalFlip));
    }

    /// <summary>
    /// The random crops depend on (seed, epoch, sample) only: one decoding thread or four, read ahead or not, the
    /// batches are the same, and epoch 3 read on its own (a resumed run) equals epoch 3 read after epochs 1 and 2.
    /// </summary>
    [Fact]
    public void RandomCropsDoNotDependOnThreadsPrefetchingOrEarlierEpochs()
    {
        using var dir = new TempDir();
        ImageFiles.ImageNet(dir.Path, ["n1", "n2", "n3"], train: 4, val: 1, width: 70, height: 50);
        using var one = Load("imagenet", dir.Path, threads: 1);
        using var four = Load("imagenet", dir.Path, threads: 4);
        var aug = Augmentation.Train(one.Info);
        var serial = new DataLoader(one.Train, 5, shuffle: true, seed: 2, aug) { PrefetchBatches = 0 };
        var parallel = new DataLoader(four.Train, 5, shuffle: true, seed: 2, aug) { PrefetchBatches = 2 };

        float[] Epoch(DataLoader loader, int e) => loader.Epoch(e).SelectMany(b => { using (b) return b.Images.data<float>().ToArray(); }).ToArray();
        var first = Epoch(serial, 1);
        Assert.Equal(first, Epoch(parallel, 1));
        _ = Epoch(parallel, 2);
        var third = Epoch(parallel, 3);
        Assert.Equal(third, Epoch(serial, 3));
        Assert.NotEqual(first, third);
        Assert.NotEqual(first, Epoch(new DataLoader(one.Train, 5, shuffle: true, seed: 3, aug), 1));

        var reads = one.Train.Reader!.Read([0, 5, 11], seed: 4, epoch: 7);
        Assert.Equal(reads.Pixels, four.Train.Reader!.Read([0, 5, 11], seed: 4, epoch: 7).Pixels);
        Assert.Equal(3 * 3 * 224 * 224, reads.Pixels.Length);
    }

    /// <summary>
    /// A truncated PNG or JPEG does not stop the epoch: its batch is one sample shorter, with the labels and indices of
    /// the samples kept, the file is named with the reason, and every other sample comes exactly once.
    /// </summary>
    [Theory]
    [InlineData("cinic10")]
    [InlineData("imagenet")]
    public void ATruncatedImageIsSkippedAndTheEpochCompletes(string name)
    {
        using var dir = new TempDir();
        string bad;
        if (name == "cinic10")
        {
            ImageFiles.Cinic10(dir.Path, CinicClasses, train: 2, test: 1);
            bad = dir.File("cinic10", "train", "cat", "train-001.png");
        }
        else
        {
            ImageFiles.ImageNet(dir.Path, ["n1", "n2", "n3"], train: 4, val: 1, width: 48, height: 40);
            bad = dir.File("imagenet", "train", "n2", "n2_1.JPEG");
        }
        ImageFiles.Truncate(bad, 0.5);
        using var data = Load(name, dir.Path, threads: 2);
        var index = Assert.IsType<ImageFolderDataset>(data.Train).Index;
        int badIndex = Enumerable.Range(0, index.Count).Single(i => index.PathOf(i) == bad);

        var loader = new DataLoader(data.Train, 4, shuffle: true, seed: 1, Augmentation.Train(data.Info));
        var seen = new List<long>();
        var skipped = new List<SkippedImage>();
        int k = 0, shortBatches = 0;
        foreach (var batch in loader.Epoch(1))
        {
            using (batch)
            {
                var indices = batch.Indices.data<long>().ToArray();
                Assert.Equal(indices.Length, (int)batch.Images.shape[0]);
                Assert.Equal(indices.Select(i => (long)index.LabelOf((int)i)), batch.Labels.data<long>().ToArray());
                int full = Math.Min(4, data.Train.Count - 4 * k);
                Assert.Equal(full - batch.Skipped.Count, indices.Length);
                seen.AddRange(indices);
                skipped.AddRange(batch.Skipped);
                if (batch.Skipped.Count > 0) shortBatches++;
                k++;
            }
        }
        Assert.Equal(1, shortBatches);
        var s = Assert.Single(skipped);
        Assert.Equal(bad, s.Path);
        Assert.Contains("truncated", s.Reason);
        Assert.Equal($"warning: skipped image {bad}, which {s.Reason}", s.ToString());
        Assert.Equal(Enumerable.Range(0, data.Train.Count).Where(i => i != badIndex).Select(i => (long)i), seen.Order());

        // Asked for directly, the damaged image is an error naming it.
        using var one = torch.tensor(new long[] { badIndex });
        var e = Assert.Throws<DistillSharpException>(() => data.Train.GetImages(one));
        Assert.StartsWith(bad, e.Message);
    }

    [Fact]
    public void AClassBalancedSubsetOfAFolderIsStreamedToo()
    {
        using var dir = new TempDir();
        ImageFiles.Cinic10(dir.Path, CinicClasses, train: 4, test: 1);
        using var data = Load("cinic10", dir.Path);
        using var subset = ClassBalancedSubset.Create(data.Train, 20, seed: 5);
        Assert.NotNull(subset.Reader);
        var counts = subset.Labels.data<long>().ToArray().GroupBy(l => l).Select(g => g.Count()).ToArray();
        Assert.Equal(Enumerable.Repeat(2, 10), counts);
        var loader = new DataLoader(subset, 6, shuffle: false, seed: 1, Augmentation.Eval(data.Info));
        var source = subset.SourceIndices.data<long>().ToArray();
        int position = 0;
        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            {
                using var expectedIdx = torch.tensor(source[position..(position + batch.Size)]);
                using var raw = data.Train.GetImages(expectedIdx);
                using var expected = Augmentation.Eval(data.Info).Normalize(raw);
                Assert.True(Same(batch.Images, expected));
                Assert.Equal(Enumerable.Range(position, batch.Size).Select(i => (long)i), batch.Indices.data<long>().ToArray());
                position += batch.Size;
            }
        }
        Assert.Equal(20, position);
    }

    [Fact]
    public void StoppingAnEpochEarlyStopsItsDecoding()
    {
        using var dir = new TempDir();
        ImageFiles.Cinic10(dir.Path, CinicClasses, train: 3, test: 1);
        using var data = Load("cinic10", dir.Path);
        var loader = new DataLoader(data.Train, 2, shuffle: true, seed: 1, Augmentation.Train(data.Info));
        using (var first = loader.Epoch(1).First()) Assert.Equal(2, first.Size);
        // The same epoch again, whole: the abandoned enumeration left nothing behind that changes it.
        Assert.Equal(30, loader.Epoch(1).Sum(b => { using (b) return b.Size; }));
    }
}
