using DistillSharp.Distillers;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

public sealed class ClassNegativeSamplerTests
{
    private static Tensor Labels(int perClass, int classes) =>
        arange(classes).repeat_interleave(perClass).index_select(0, randperm(perClass * classes, generator: new Generator(7)));

    [Fact]
    public void NegativesComeFromOtherClassesWithoutReplacementWhenThereAreEnough()
    {
        using var labels = Labels(20, 5);   // 100 samples, 80 of other classes for each
        using var sampler = new ClassNegativeSampler(labels, 5);
        using var idx = tensor(new long[] { 0, 17, 42, 99 });
        using var gen = new Generator(3);
        using var contrast = sampler.Sample(idx, labels.index_select(0, idx), 30, gen);
        Assert.Equal(new long[] { 4, 31 }, contrast.shape);
        var c = contrast.data<long>().ToArray();
        var y = labels.data<long>().ToArray();
        for (int b = 0; b < 4; b++)
        {
            var row = c.Skip(b * 31).Take(31).ToArray();
            Assert.Equal(idx[b].item<long>(), row[0]);
            var negatives = row.Skip(1).ToArray();
            Assert.All(negatives, j => Assert.NotEqual(y[row[0]], y[j]));
            Assert.Equal(negatives.Length, negatives.Distinct().Count());
        }
    }

    [Fact]
    public void WithReplacementWhenTooFewAndStillOtherClasses()
    {
        using var labels = Labels(3, 2);    // 6 samples, 3 of the other class
        using var sampler = new ClassNegativeSampler(labels, 2);
        using var idx = arange(6L);
        using var gen = new Generator(5);
        using var contrast = sampler.Sample(idx, labels, 50, gen);
        var c = contrast.data<long>().ToArray();
        var y = labels.data<long>().ToArray();
        for (int b = 0; b < 6; b++)
        {
            var negatives = c.Skip(b * 51 + 1).Take(50).ToArray();
            Assert.All(negatives, j => Assert.NotEqual(y[b], y[j]));
            Assert.Equal(3, negatives.Distinct().Count());   // all three reachable in 50 draws (prob. of missing one < 1e-8)
        }
    }

    [Fact]
    public void SameGeneratorSeedGivesSameDraws()
    {
        using var labels = Labels(10, 4);
        using var sampler = new ClassNegativeSampler(labels, 4);
        using var idx = tensor(new long[] { 1, 2, 3 });
        using var y = labels.index_select(0, idx);
        using var a = sampler.Sample(idx, y, 8, new Generator(11));
        using var b = sampler.Sample(idx, y, 8, new Generator(11));
        Assert.Equal(a.data<long>().ToArray(), b.data<long>().ToArray());
    }

    [Theory]
    [InlineData(20, 5, 30)]   // without replacement
    [InlineData(3, 2, 50)]    // with replacement
    public void NegativesNeverIncludeThePositivesOwnIndex(int perClass, int classes, int negatives)
    {
        using var labels = Labels(perClass, classes);
        using var sampler = new ClassNegativeSampler(labels, classes);
        long total = perClass * classes;
        using var idx = arange(total);
        using var gen = new Generator(17);
        for (int draw = 0; draw < 20; draw++)
        {
            using var contrast = sampler.Sample(idx, labels, negatives, gen);
            using var positives = contrast.narrow(1, 0, 1);
            Assert.True(positives.squeeze(1).eq(idx).all().item<bool>());
            using var others = contrast.narrow(1, 1, negatives);
            Assert.False(others.eq(positives).any().item<bool>(), $"draw {draw}: a negative is its row's positive");
        }
    }
}
