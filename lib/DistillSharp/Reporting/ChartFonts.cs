using SkiaSharp;

namespace DistillSharp.Reporting;

/// <summary>
/// The font the static chart images are drawn with: a sans-serif TrueType file found on the machine, read by path
/// (the Linux native library has no fontconfig). In order: the file named by <see cref="FontVariable"/>; DejaVu Sans
/// or Liberation Sans where Linux distributions install them (Debian and Ubuntu: fonts-dejavu-core, which fontconfig
/// pulls in); any other regular sans-serif <c>.ttf</c> under the usual font folders; then what the system's own font
/// manager matches (macOS, Windows). Nothing is embedded in the library. Found once per process.
/// </summary>
internal static class ChartFonts
{
    /// <summary>The environment variable that names a font file to use instead.</summary>
    public const string FontVariable = "DISTILL_CHART_FONT";

    private static readonly string[] KnownFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",            // Debian, Ubuntu
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",          // Fedora
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",                     // older Fedora, CentOS
        "/usr/share/fonts/TTF/DejaVuSans.ttf",                        // Arch
        "/usr/share/fonts/truetype/DejaVuSans.ttf",                   // Alpine
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/Library/Fonts/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
    ];

    private static readonly string[] Families = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Segoe UI"];

    private static readonly Lazy<(SKTypeface? Typeface, string Source)> Found = new(Find);

    /// <summary>The typeface, or null when the machine has no font the library can read.</summary>
    public static SKTypeface? Typeface => Found.Value.Typeface;

    /// <summary>Where the typeface came from (a file path or a family name), or why there is none.</summary>
    public static string Source => Found.Value.Source;

    private static (SKTypeface?, string) Find() =>
        Find(Environment.GetEnvironmentVariable(FontVariable), KnownFiles.Concat(ScannedFiles()), systemFamilies: true);

    /// <summary>The first usable font: <paramref name="chosen"/> alone when given, else the files, then the system's families.</summary>
    internal static (SKTypeface? Typeface, string Source) Find(string? chosen, IEnumerable<string> files, bool systemFamilies)
    {
        if (!string.IsNullOrEmpty(chosen))
        {
            return Usable(Load(chosen)) is { } face
                ? (face, chosen)
                : (null, $"{FontVariable}={chosen} is not a font file that can be read");
        }
        foreach (var file in files)
        {
            if (Usable(Load(file)) is { } face)
            {
                return (face, file);
            }
        }
        foreach (var family in systemFamilies ? Families : [])
        {
            if (Usable(SKFontManager.Default.MatchFamily(family)) is { } face && face.FamilyName == family)
            {
                return (face, family);
            }
        }
        return (null, "no sans-serif font was found (on Debian or Ubuntu: apt-get install fonts-dejavu-core; "
                      + $"or set {FontVariable} to a .ttf file)");
    }

    private static SKTypeface? Load(string file)
    {
        try
        {
            return File.Exists(file) ? SKTypeface.FromFile(file) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The typeface when it draws digits and Latin letters, else null.</summary>
    private static SKTypeface? Usable(SKTypeface? face)
    {
        if (face is null) return null;
        using var font = new SKFont(face);
        return font.ContainsGlyphs("Aa09.%()") ? face : null;
    }

    /// <summary>Regular sans-serif TrueType files under the usual font folders, in a stable order.</summary>
    private static IEnumerable<string> ScannedFiles()
    {
        if (!OperatingSystem.IsLinux()) return [];
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var folders = new[] { "/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(home, ".local/share/fonts"), Path.Combine(home, ".fonts") };
        var excluded = new[] { "bold", "italic", "oblique", "mono", "condensed", "light", "thin", "black", "serif" };
        return folders.Where(Directory.Exists)
            .SelectMany(f =>
            {
                try
                {
                    return Directory.EnumerateFiles(f, "*.ttf", SearchOption.AllDirectories).ToList();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return [];
                }
            })
            .Where(p => Path.GetFileNameWithoutExtension(p) is var name
                        && name.Contains("sans", StringComparison.OrdinalIgnoreCase)
                        && !excluded.Any(x => name.Contains(x, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal);
    }
}
