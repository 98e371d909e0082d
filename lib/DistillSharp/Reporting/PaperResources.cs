using System.Reflection;

namespace DistillSharp.Reporting;

/// <summary>The paper files embedded in the library (<c>Reporting/Papers/*.json</c>, see DistillSharp.csproj).</summary>
internal static class PaperResources
{
    /// <summary>The manifest name of a paper file is this prefix, the paper's name, then <see cref="Suffix"/>.</summary>
    public const string Prefix = "DistillSharp.Reporting.Papers.";

    /// <summary>The end of a paper file's manifest name.</summary>
    public const string Suffix = ".json";

    private static readonly Assembly Library = typeof(PaperResources).Assembly;

    /// <summary>The embedded papers' names, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = Library.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(Suffix, StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^Suffix.Length])
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>The text of paper file <paramref name="name"/>, or null when none is embedded.</summary>
    public static string? Read(string name)
    {
        if (!Names.Contains(name, StringComparer.Ordinal))
        {
            return null;
        }
        using var stream = Library.GetManifestResourceStream(Prefix + name + Suffix)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
