using DistillSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class SubsetTests
{
    [Fact]
    public void SubsetIsClassBalancedSeededAndDistinct()
    {
        // 10 classes of 30 samples each, labels interleaved irregularly.
        var labels = Enumerable.Range(0, 300).Select(i => (long)(i * 13 % 10)).ToArray();
        using var t = torch.tensor(labels);
        var subset = ClassBalancedSubset.Indices(t, 10, 57, seed: 5);
        Assert.Equal(57, subset.Length);
        Assert.Equal(57, subset.Distinct().Count());
        var perClass = subset.Select(i => labels[i]).CountBy(l => l).ToDictionary();
        Assert.Equal(10, perClass.Count);
        Assert.All(perClass.Values, c => Assert.InRange(c, 5, 6)); // 57 = 7 classes x 6 + 3 x 5
        Assert.Equal(subset, ClassBalancedSubset.Indices(t, 10, 57, seed: 5));
        Assert.NotEqual(subset, ClassBalancedSubset.Indices(t, 10, 57, seed: 6));
        // A shorter subset is a prefix of a longer one with the same seed.
        Assert.Equal(subset[..20], ClassBalancedSubset.Indices(t, 10, 20, seed: 5));
    }

    [Fact]
    public void SmallClassesRunOutAndTheOthersFill()
    {
        // Class 2 has only 2 samples.
        var labels = new long[] { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2 };
        using var t = torch.tensor(labels);
        var subset = ClassBalancedSubset.Indices(t, 3, 10, seed: 1);
        var counts = subset.Select(i => labels[i]).CountBy(l => l).ToDictionary();
        Assert.Equal(2, counts[2]);
        Assert.Equal(4, counts[0]);
        Assert.Equal(4, counts[1]);
        Assert.Equal(12, ClassBalancedSubset.Indices(t, 3, 12, seed: 1).Distinct().Count());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(13)]
    public void SizeOutsideTheSetIsAClearError(int n)
    {
        using var t = torch.tensor(new long[] { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 });
        var e = Assert.Throws<DistillSharpException>(() => ClassBalancedSubset.Indices(t, 2, n, seed: 1));
        Assert.Equal($"--subset {n}: the training split has 12 images; choose a size from 1 to 12, or leave --subset out to use the whole split.", e.Message);
    }

    [Fact]
    public void SubsetViewReadsThroughTheSource()
    {
        var pixels = new byte[20 * 1 * 2 * 2];
        for (int i = 0; i < 20; i++) pixels.AsSpan(i * 4, 4).Fill((byte)i);
        var labels = Enumerable.Range(0, 20).Select(i => (long)(i % 4)).ToArray();
        using var source = new InMemoryImageDataset("src", torch.tensor(pixels, [20, 1, 2, 2]), torch.tensor(labels), 4);
        using var view = ClassBalancedSubset.Create(source, 8, seed: 2);
        Assert.Equal(8, view.Count);
        Assert.Equal(4, view.NumClasses);
        var map = view.SourceIndices.data<long>().ToArray();
        Assert.Equal(map.Select(i => labels[i]), view.Labels.data<long>().ToArray());
        Assert.All(view.Labels.data<long>().ToArray().CountBy(l => l), kv => Assert.Equal(2, kv.Value));
        using var idx = torch.tensor(new long[] { 7, 0, 3 });
        using var images = view.GetImages(idx);
        Assert.Equal(new[] { map[7], map[0], map[3] }.SelectMany(i => Enumerable.Repeat((byte)i, 4)), images.data<byte>().ToArray());

        // A loader over the view reports indices into the view.
        var loader = new DataLoader(view, 3, true, 1, new Augmentation([0.5f], [0.25f]));
        var seen = loader.Epoch(0).SelectMany(b => { using (b) return b.Indices.data<long>().ToArray(); }).Order();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), seen);
    }
}
