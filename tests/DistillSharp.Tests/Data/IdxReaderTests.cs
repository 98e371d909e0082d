using DistillSharp.Data;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsImagesAndLabelsRawAndGzipped(bool gzip)
    {
        using var dir = new TempDir();
        var images = Formats.IdxImages(5, 28, 28);
        var labels = Formats.IdxLabels([3, 0, 9, 1, 3]);
        var ip = dir.File(gzip ? "img.gz" : "img");
        var lp = dir.File(gzip ? "lab.gz" : "lab");
        File.WriteAllBytes(ip, gzip ? Formats.Gzip(images) : images);
        File.WriteAllBytes(lp, gzip ? Formats.Gzip(labels) : labels);

        using var t = IdxReader.ReadImages(ip);
        Assert.Equal(ScalarType.Byte, t.dtype);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, t.shape);
        var values = t.data<byte>().ToArray();
        for (int n = 0; n < 5; n++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    Assert.Equal(Formats.Pixel(n, 0, y, x), values[(n * 28 + y) * 28 + x]);

        using var l = IdxReader.ReadLabels(lp, 10);
        Assert.Equal(ScalarType.Int64, l.dtype);
        Assert.Equal(new long[] { 3, 0, 9, 1, 3 }, l.data<long>().ToArray());
    }

    [Fact]
    public void LoadPadsTwentyEightToThirtyTwoWithZeros()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("img"), Formats.IdxImages(3, 28, 28));
        File.WriteAllBytes(dir.File("lab.gz"), Formats.Gzip(Formats.IdxLabels([1, 2, 3])));
        using var ds = IdxReader.Load("t", dir.File("img"), dir.File("lab.gz"), 10, padTo: 32);
        Assert.Equal((3, 1, 32, 32), (ds.Count, ds.Channels, ds.Height, ds.Width));
        var v = ds.Images.data<byte>().ToArray();
        for (int n = 0; n < 3; n++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                {
                    bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
                    byte expected = inside ? Formats.Pixel(n, 0, y - 2, x - 2) : (byte)0;
                    Assert.Equal(expected, v[(n * 32 + y) * 32 + x]);
                }
    }

    [Fact]
    public void TruncatedImageFileIsNamed()
    {
        using var dir = new TempDir();
        var bytes = Formats.IdxImages(4, 28, 28);
        var path = dir.File("train-images-idx3-ubyte");
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("4 images of 28x28", e.Message);

        File.WriteAllBytes(path, bytes[..10]);
        e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TruncatedGzipIsAnError()
    {
        using var dir = new TempDir();
        var gz = Formats.Gzip(Formats.IdxImages(50, 28, 28));
        var path = dir.File("img.gz");
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.True(e.Message.Contains("truncated") || e.Message.Contains("gzip"), e.Message);
    }

    [Fact]
    public void BrokenGzipStreamIsNamed()
    {
        using var dir = new TempDir();
        var gz = Formats.Gzip(Formats.IdxImages(20, 28, 28));
        for (int i = 10; i < 60; i++) gz[i] ^= 0xA5; // damage the deflate data right after the header
        var path = dir.File("img.gz");
        File.WriteAllBytes(path, gz);
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.True(e.Message.Contains("broken gzip stream") || e.Message.Contains("truncated") || e.Message.Contains("unexpected bytes"), e.Message);
    }

    [Fact]
    public void WrongMagicNumbersAreNamed()
    {
        using var dir = new TempDir();
        var labelsAsImages = dir.File("labels-given-as-images");
        File.WriteAllBytes(labelsAsImages, Formats.IdxLabels([1, 2]));
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(labelsAsImages));
        Assert.Contains(labelsAsImages, e.Message);
        Assert.Contains("wrong magic number 2049", e.Message);
        Assert.Contains("2051", e.Message);

        var junk = dir.File("junk");
        File.WriteAllBytes(junk, Formats.IdxImages(1, 2, 2, magic: 0x12345678));
        e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(junk));
        Assert.Contains("wrong magic number", e.Message);

        var imagesAsLabels = dir.File("images-given-as-labels");
        File.WriteAllBytes(imagesAsLabels, Formats.IdxImages(1, 2, 2));
        e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadLabels(imagesAsLabels, 10));
        Assert.Contains(imagesAsLabels, e.Message);
        Assert.Contains("wrong magic number 2051", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("labels");
        File.WriteAllBytes(path, Formats.IdxLabels([1, 2, 10, 3]));
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadLabels(path, 10));
        Assert.Contains(path, e.Message);
        Assert.Contains("label 10 of sample 2 is out of range", e.Message);
    }

    [Fact]
    public void TruncatedLabelFileIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("labels");
        File.WriteAllBytes(path, Formats.IdxLabels([1, 2, 3, 4])[..^2]);
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadLabels(path, 10));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ImageAndLabelCountMismatchNamesBothFiles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("img"), Formats.IdxImages(3, 28, 28));
        File.WriteAllBytes(dir.File("lab"), Formats.IdxLabels([1, 2]));
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.Load("t", dir.File("img"), dir.File("lab"), 10));
        Assert.Contains(dir.File("img"), e.Message);
        Assert.Contains(dir.File("lab"), e.Message);
        Assert.Contains("3 images but", e.Message);
        Assert.Contains("2 labels", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DistillSharpException>(() => IdxReader.ReadImages(dir.File("nothing")));
        Assert.Contains(dir.File("nothing"), e.Message);
        Assert.Contains("does not exist", e.Message);
    }
}
