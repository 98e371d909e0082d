using System.Runtime.InteropServices;
using SkiaSharp;

namespace DistillSharp.Tests.Data;

/// <summary>
/// Writes image files in their real on-disk formats with SkiaSharp's encoders (PNG lossless; JPEG at quality 100 with
/// no chroma subsampling), from a pixel function, and lays out image-folder datasets.
/// </summary>
internal static class ImageFiles
{
    /// <summary>A pixel function: the value of channel c (0 red, 1 green, 2 blue) at row y, column x.</summary>
    public delegate byte Pixels(int c, int y, int x);

    /// <summary>The encoded bytes of a <paramref name="width"/> x <paramref name="height"/> RGB image.</summary>
    public static byte[] Encode(int width, int height, Pixels pixels, SKEncodedImageFormat format)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var rgba = new byte[info.BytesSize];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = 4 * (y * width + x);
                rgba[p] = pixels(0, y, x);
                rgba[p + 1] = pixels(1, y, x);
                rgba[p + 2] = pixels(2, y, x);
                rgba[p + 3] = 255;
            }
        }
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var pixmap = bitmap.PeekPixels();
        using var data = format switch
        {
            SKEncodedImageFormat.Png => pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6)),
            SKEncodedImageFormat.Jpeg => pixmap.Encode(new SKJpegEncoderOptions(100, SKJpegEncoderDownsample.Downsample444, SKJpegEncoderAlphaOption.Ignore)),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
        return data.ToArray();
    }

    /// <summary>Writes a PNG file.</summary>
    public static string Png(string path, int width, int height, Pixels pixels) => Write(path, Encode(width, height, pixels, SKEncodedImageFormat.Png));

    /// <summary>Writes a JPEG file (quality 100, 4:4:4).</summary>
    public static string Jpeg(string path, int width, int height, Pixels pixels) => Write(path, Encode(width, height, pixels, SKEncodedImageFormat.Jpeg));

    /// <summary>Cuts a file to <paramref name="fraction"/> of its length (a download or copy that stopped early).</summary>
    public static void Truncate(string path, double fraction)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * fraction)]);
    }

    /// <summary>The pixel the tests give image <paramref name="n"/> of a folder: distinct per image, channel and position.</summary>
    public static Pixels Numbered(int n) => (c, y, x) => (byte)((n * 53 + c * 101 + y * 7 + x * 3 + 1) % 256);

    /// <summary>A smooth picture (JPEG keeps it within a few levels): a gradient, distinct per image.</summary>
    public static Pixels Smooth(int n) => (c, y, x) => (byte)((40 + 30 * c + 2 * y + 3 * x + 11 * n) % 200 + 20);

    /// <summary>
    /// A CINIC-10 layout below <paramref name="root"/>: <c>cinic10/{train,valid,test}/CLASS/NAME.png</c> (32x32) with
    /// <paramref name="train"/> and <paramref name="test"/> images per class of <paramref name="classes"/>; image n of a
    /// split (counting through the classes in order) has the pixels <see cref="Numbered"/>(n). Returns the set's folder.
    /// </summary>
    public static string Cinic10(string root, IReadOnlyList<string> classes, int train, int test)
    {
        var folder = Path.Combine(root, "cinic10");
        foreach (var (split, count) in new[] { ("train", train), ("valid", 1), ("test", test) })
        {
            int n = 0;
            foreach (var c in classes)
            {
                for (int i = 0; i < count; i++, n++) Png(Path.Combine(folder, split, c, $"{split}-{i:D3}.png"), 32, 32, Numbered(n));
            }
        }
        return folder;
    }

    /// <summary>
    /// An ImageNet layout below <paramref name="root"/>: <c>imagenet/train/WNID/*.JPEG</c> and <c>imagenet/val/WNID/*.JPEG</c>
    /// of <paramref name="width"/> x <paramref name="height"/> smooth pictures. Returns the set's folder.
    /// </summary>
    public static string ImageNet(string root, IReadOnlyList<string> wnids, int train, int val, int width, int height)
    {
        var folder = Path.Combine(root, "imagenet");
        foreach (var (split, count) in new[] { ("train", train), ("val", val) })
        {
            int n = 0;
            foreach (var w in wnids)
            {
                for (int i = 0; i < count; i++, n++) Jpeg(Path.Combine(folder, split, w, $"{w}_{i}.JPEG"), width, height, Smooth(n));
            }
        }
        return folder;
    }

    private static string Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
