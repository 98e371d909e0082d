using DistillSharp.Data;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class CifarReaderTests
{
    private static void AssertPixels(Tensor images, int firstSample, int count)
    {
        Assert.Equal(new long[] { count, 3, 32, 32 }, images.shape);
        var v = images.data<byte>().ToArray();
        for (int n = 0; n < count; n++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        Assert.Equal(Formats.Pixel(firstSample + n, c, y, x), v[((n * 3 + c) * 32 + y) * 32 + x]);
    }

    [Fact]
    public void ReadsCifar10RecordsAcrossFiles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("data_batch_1.bin"), Formats.CifarRecords(3, i => [(byte)(i + 7)]));
        File.WriteAllBytes(dir.File("data_batch_2.bin"), Formats.CifarRecords(2, i => [(byte)i], firstSample: 3));
        using var ds = CifarReader.ReadCifar10("c10", [dir.File("data_batch_1.bin"), dir.File("data_batch_2.bin")]);
        Assert.Equal(5, ds.Count);
        Assert.Equal(10, ds.NumClasses);
        Assert.Equal(new long[] { 7, 8, 9, 0, 1 }, ds.Labels.data<long>().ToArray());
        AssertPixels(ds.Images, 0, 5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsCifar100FineOrCoarseLabels(bool coarse)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train.bin"), Formats.CifarRecords(4, i => [(byte)(19 - i), (byte)(90 + i)]));
        using var ds = CifarReader.ReadCifar100("c100", dir.File("train.bin"), coarse);
        Assert.Equal(coarse ? 20 : 100, ds.NumClasses);
        Assert.Equal(coarse ? new long[] { 19, 18, 17, 16 } : new long[] { 90, 91, 92, 93 }, ds.Labels.data<long>().ToArray());
        AssertPixels(ds.Images, 0, 4);
    }

    [Fact]
    public void SizeNotAMultipleOfTheRecordIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("data_batch_1.bin");
        File.WriteAllBytes(path, Formats.CifarRecords(2, _ => [1])[..^5]);
        var e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar10("c", [path]));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a multiple of the 3073-byte CIFAR-10 record", e.Message);

        var p100 = dir.File("test.bin");
        File.WriteAllBytes(p100, Formats.CifarRecords(2, _ => [1])); // CIFAR-10 records given as CIFAR-100
        e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar100("c", p100));
        Assert.Contains(p100, e.Message);
        Assert.Contains("3074-byte CIFAR-100 record", e.Message);
    }

    [Fact]
    public void EmptyFileAndRecordCountMismatchAreNamed()
    {
        using var dir = new TempDir();
        var empty = dir.File("test_batch.bin");
        File.WriteAllBytes(empty, []);
        var e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar10("c", [empty]));
        Assert.Contains(empty, e.Message);
        Assert.Contains("empty", e.Message);

        var short10 = dir.File("data_batch_3.bin");
        File.WriteAllBytes(short10, Formats.CifarRecords(3, _ => [1]));
        e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar10("c", [short10], recordsPerFile: 10000));
        Assert.Contains(short10, e.Message);
        Assert.Contains("3 records where 10000 are expected", e.Message);
    }

    [Fact]
    public void LabelsOutOfRangeAreNamed()
    {
        using var dir = new TempDir();
        var p10 = dir.File("data_batch_1.bin");
        File.WriteAllBytes(p10, Formats.CifarRecords(3, i => [(byte)(i == 1 ? 10 : 0)]));
        var e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar10("c", [p10]));
        Assert.Contains(p10, e.Message);
        Assert.Contains("label 10 of record 1 is out of range", e.Message);

        var fine = dir.File("fine.bin");
        File.WriteAllBytes(fine, Formats.CifarRecords(2, i => [0, (byte)(i == 1 ? 100 : 5)]));
        e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar100("c", fine));
        Assert.Contains(fine, e.Message);
        Assert.Contains("fine label 100 of record 1 is out of range", e.Message);

        var coarse = dir.File("coarse.bin");
        File.WriteAllBytes(coarse, Formats.CifarRecords(2, i => [(byte)(i == 0 ? 20 : 1), 5]));
        e = Assert.Throws<DistillSharpException>(() => CifarReader.ReadCifar100("c", coarse, coarse: false));
        Assert.Contains("coarse label 20 of record 0 is out of range", e.Message);
    }
}
