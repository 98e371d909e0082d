namespace DistillSharp.Data;

/// <summary>
/// One image decoded into managed memory: <see cref="Rgba"/> holds <c>Height x Width</c> pixels, row by row, four bytes
/// each (red, green, blue, alpha; alpha not premultiplied). Made on any thread; no tensor is involved.
/// </summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Rgba">The pixels, <c>4 * Width * Height</c> bytes: byte <c>4 * (y * Width + x) + c</c> is channel c of pixel (y, x).</param>
public sealed record DecodedImage(int Width, int Height, byte[] Rgba)
{
    /// <summary>The value of channel <paramref name="c"/> (0 red, 1 green, 2 blue) at row <paramref name="y"/>, column <paramref name="x"/>.</summary>
    public byte At(int c, int y, int x) => Rgba[4 * (y * Width + x) + c];
}
