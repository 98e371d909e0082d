using DistillSharp.Data;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>Small in-memory datasets for trainer tests: seeded random images, labels in round-robin order.</summary>
internal static class Synthetic
{
    public static InMemoryImageDataset Dataset(int count, int classes = 4, int channels = 1, long seed = 5)
    {
        using var gen = new Generator((ulong)seed);
        var images = randint(0, 256, new long[] { count, channels, 32, 32 }, dtype: ScalarType.Byte, generator: gen);
        var labels = arange(count, dtype: ScalarType.Int64) % classes;
        return new InMemoryImageDataset($"synthetic-{count}", images, labels, classes);
    }

    public static Augmentation Augment(int channels = 1) =>
        new(Enumerable.Repeat(0.5f, channels).ToArray(), Enumerable.Repeat(0.25f, channels).ToArray(), cropPadding: 4, horizontalFlip: true);

    public static Augmentation Plain(int channels = 1) =>
        new(Enumerable.Repeat(0.5f, channels).ToArray(), Enumerable.Repeat(0.25f, channels).ToArray());
}
