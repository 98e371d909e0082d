using SkiaSharp;

namespace DistillSharp.Training.Benchmarks;

/// <summary>
/// A temporary data root holding a small image-folder dataset in its on-disk layout, for the data rows of
/// <c>distill bench</c>: <c>cinic10/{train,test}/&lt;class&gt;/*.png</c> (32x32) or
/// <c>imagenet/{train,val}/&lt;class&gt;/*.JPEG</c> (500x375, ImageNet's most common size, quality 90, 4:2:0 as a
/// camera writes them). The pictures are smooth colour gradients with seeded noise, so that they compress and decode
/// roughly as photographs do rather than as pure noise (which JPEG stores at several times the size). Deleted at dispose.
/// </summary>
internal sealed class SyntheticImageFolder : IDisposable
{
    private SyntheticImageFolder(string root) => Root = root;

    /// <summary>The data root (the folder that holds <c>cinic10/</c> or <c>imagenet/</c>).</summary>
    public string Root { get; }

    /// <summary>Writes a CINIC-10-style folder: <paramref name="perClass"/> training images for each of 10 classes, one test image each.</summary>
    public static SyntheticImageFolder Cinic10(int perClass, long seed) =>
        Write("cinic10", "train", "test", classes: 10, perClass, width: 32, height: 32, SKEncodedImageFormat.Png, ".png", seed);

    /// <summary>Writes an ImageNet-style folder: <paramref name="perClass"/> training images for each of 4 classes, one validation image each.</summary>
    public static SyntheticImageFolder ImageNet(int perClass, long seed) =>
        Write("imagenet", "train", "val", classes: 4, perClass, width: 500, height: 375, SKEncodedImageFormat.Jpeg, ".JPEG", seed);

    private static SyntheticImageFolder Write(string set, string train, string test, int classes, int perClass, int width, int height,
        SKEncodedImageFormat format, string extension, long seed)
    {
        var folder = new SyntheticImageFolder(Directory.CreateTempSubdirectory("distill-bench-images-").FullName);
        try
        {
            var random = new Random(unchecked((int)seed));
            foreach (var (split, count) in new[] { (train, perClass), (test, 1) })
            {
                for (int c = 0; c < classes; c++)
                {
                    var dir = Directory.CreateDirectory(Path.Combine(folder.Root, set, split, $"class{c:D2}")).FullName;
                    for (int i = 0; i < count; i++)
                    {
                        File.WriteAllBytes(Path.Combine(dir, $"img{i:D5}{extension}"), Picture(width, height, random, format));
                    }
                }
            }
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private static byte[] Picture(int width, int height, Random random, SKEncodedImageFormat format)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var pixels = new byte[info.BytesSize];
        double a = random.NextDouble() * 255, b = random.NextDouble() * 255, c = random.NextDouble() * 255;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = 4 * (y * width + x);
                double u = (double)x / width, v = (double)y / height;
                pixels[p] = Level(a * u + (255 - a) * v, random);
                pixels[p + 1] = Level(b * (1 - u) + (255 - b) * v * u, random);
                pixels[p + 2] = Level(c * v + (255 - c) * (1 - u), random);
                pixels[p + 3] = 255;
            }
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(format, 90) ?? throw new InvalidOperationException($"SkiaSharp could not encode a {format} image");
        return data.ToArray();
    }

    private static byte Level(double value, Random random) => (byte)Math.Clamp((int)(value + random.Next(-12, 13)), 0, 255);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary folder left behind is not worth failing a measurement for.
        }
    }
}
