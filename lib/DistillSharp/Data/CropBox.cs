namespace DistillSharp.Data;

/// <summary>
/// A rectangle of an image in pixels: rows <c>[Top, Top + Height)</c> and columns <c>[Left, Left + Width)</c>
/// (torchvision's <c>(i, j, h, w)</c> of <c>F.crop</c>).
/// </summary>
/// <param name="Top">The first row.</param>
/// <param name="Left">The first column.</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public readonly record struct CropBox(int Top, int Left, int Height, int Width)
{
    /// <summary>The whole of an image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static CropBox Whole(int width, int height) => new(0, 0, height, width);

    /// <summary>Whether the box is non-empty and lies inside an image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public bool FitsIn(int width, int height) =>
        Top >= 0 && Left >= 0 && Height > 0 && Width > 0 && (long)Top + Height <= height && (long)Left + Width <= width;
}
