using DistillSharp.Data;
using SkiaSharp;

namespace DistillSharp.Tests.Data;

public sealed class ImageDecoderTests
{
    [Fact]
    public void APngDecodesToExactlyThePixelsWritten()
    {
        using var dir = new TempDir();
        var pixels = ImageFiles.Numbered(5);
        var path = ImageFiles.Png(dir.File("a.png"), 37, 23, pixels);
        var image = ImageDecoder.TryDecode(path, out var reason);
        Assert.Null(reason);
        Assert.NotNull(image);
        Assert.Equal((37, 23), (image.Width, image.Height));
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37; x++)
                for (int c = 0; c < 3; c++)
                    Assert.True(pixels(c, y, x) == image.At(c, y, x), $"channel {c} at ({y}, {x}): wrote {pixels(c, y, x)}, read {image.At(c, y, x)}");
    }

    /// <summary>
    /// JPEG at quality 100 without chroma subsampling quantises every DCT coefficient with step 1; what remains is the
    /// rounding of the 8-bit RGB to YCbCr conversion, of the integer DCT and its inverse, and of the conversion back,
    /// each within about one level. So every pixel of a smooth picture comes back within 3 levels and most exactly or
    /// within 1; a swapped channel or a shifted row would be off by tens.
    /// </summary>
    [Fact]
    public void AJpegAtQuality100DecodesWithinThreeLevelsOfThePixelsWritten()
    {
        using var dir = new TempDir();
        var pixels = ImageFiles.Smooth(2);
        var path = ImageFiles.Jpeg(dir.File("a.JPEG"), 80, 64, pixels);
        var image = ImageDecoder.TryDecode(path, out var reason);
        Assert.Null(reason);
        Assert.NotNull(image);
        Assert.Equal((80, 64), (image.Width, image.Height));
        int worst = 0;
        double total = 0;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 80; x++)
                for (int c = 0; c < 3; c++)
                {
                    int d = Math.Abs(pixels(c, y, x) - image.At(c, y, x));
                    worst = Math.Max(worst, d);
                    total += d;
                }
        Assert.True(worst <= 3, $"largest difference {worst} levels");
        Assert.True(total / (64 * 80 * 3) <= 1.0, $"mean difference {total / (64 * 80 * 3):F3} levels");
    }

    [Fact]
    public void AGreyPngBecomesThreeEqualChannels()
    {
        var info = new SKImageInfo(5, 4, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var grey = Enumerable.Range(0, 20).Select(i => (byte)(i * 12 + 3)).ToArray();
        System.Runtime.InteropServices.Marshal.Copy(grey, 0, bitmap.GetPixels(), grey.Length);
        using var data = bitmap.PeekPixels().Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.NoFilters, 6));
        var image = ImageDecoder.TryDecode(data.ToArray(), out var reason);
        Assert.Null(reason);
        Assert.NotNull(image);
        for (int i = 0; i < 20; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(grey[i], image.At(c, i / 5, i % 5));
    }

    [Theory]
    [InlineData("png")]
    [InlineData("JPEG")]
    public void ATruncatedFileIsRefusedWithTheReason(string extension)
    {
        using var dir = new TempDir();
        var path = dir.File("a." + extension);
        if (extension == "png") ImageFiles.Png(path, 64, 48, ImageFiles.Numbered(1));
        else ImageFiles.Jpeg(path, 64, 48, ImageFiles.Smooth(1));
        Assert.NotNull(ImageDecoder.TryDecode(path, out _));
        ImageFiles.Truncate(path, 0.5);
        Assert.Null(ImageDecoder.TryDecode(path, out var reason));
        Assert.Contains("truncated", reason);
    }

    [Fact]
    public void FilesThatAreNotImagesAreRefusedWithTheReason()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.png"), "not an image at all");
        Assert.Null(ImageDecoder.TryDecode(dir.File("notes.png"), out var reason));
        Assert.Contains("is not a PNG or JPEG image", reason);

        File.WriteAllBytes(dir.File("empty.jpg"), []);
        Assert.Null(ImageDecoder.TryDecode(dir.File("empty.jpg"), out reason));
        Assert.Equal("is empty", reason);

        Assert.Null(ImageDecoder.TryDecode(dir.File("missing.png"), out reason));
        Assert.StartsWith("cannot be read", reason);
    }
}
