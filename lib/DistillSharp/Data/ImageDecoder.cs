using SkiaSharp;

namespace DistillSharp.Data;

/// <summary>
/// Decodes PNG and JPEG files with SkiaSharp (libpng, libjpeg-turbo) into <see cref="DecodedImage"/>s: 8-bit RGBA,
/// alpha unpremultiplied, grey images expanded to three equal channels, no colour management (an embedded ICC profile
/// is not applied) and the EXIF orientation ignored, as PIL's <c>Image.open(f).convert("RGB")</c> in torchvision's
/// ImageFolder reads them. Safe on any thread.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The largest image decoded, in pixels (the RGBA buffer must fit one managed array).</summary>
    public const long MaxPixels = int.MaxValue / 4;

    /// <summary>
    /// Decodes <paramref name="path"/>, or returns null with the <paramref name="reason"/> it cannot be read: the file
    /// cannot be opened, is not an image SkiaSharp recognises, is truncated (what libjpeg and libpng call premature end
    /// of data: an error here, as in PIL without <c>LOAD_TRUNCATED_IMAGES</c>) or damaged.
    /// </summary>
    public static DecodedImage? TryDecode(string path, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot be read: {e.Message}";
            return null;
        }
        return TryDecode(bytes, out reason);
    }

    /// <summary>Decodes an encoded image held in memory; see <see cref="TryDecode(string, out string?)"/>.</summary>
    public static DecodedImage? TryDecode(byte[] encoded, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (encoded.Length == 0)
        {
            reason = "is empty";
            return null;
        }
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            reason = "is not a PNG or JPEG image that SkiaSharp can read (unknown format or a damaged header)";
            return null;
        }
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0 || (long)width * height > MaxPixels)
        {
            reason = $"has an unsupported size {width}x{height}";
            return null;
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[4L * width * height];
        var result = codec.GetPixels(info, rgba);
        if (result != SKCodecResult.Success)
        {
            reason = result == SKCodecResult.IncompleteInput
                ? "is truncated: its image data ends early (SkiaSharp: IncompleteInput)"
                : $"is damaged: SkiaSharp could not decode it ({result})";
            return null;
        }
        reason = null;
        return new DecodedImage(width, height, rgba);
    }
}
