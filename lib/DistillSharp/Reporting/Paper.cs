using System.Collections.Concurrent;

namespace DistillSharp.Reporting;

/// <summary>
/// One paper's reported numbers, as data: its citation, remarks and tables, read from the paper file
/// <c>Reporting/Papers/NAME.json</c> embedded in the library (so a notebook that loads the DLL has them, wherever it
/// runs). The numbers are the paper's, never this library's.
/// </summary>
/// <param name="Id">The paper's name, the file's name without <c>.json</c> (e.g. <c>crd</c>).</param>
/// <param name="Citation">The paper's reference.</param>
/// <param name="Remarks">What a reader must know about all its numbers.</param>
/// <param name="Tables">Its tables, in the file's order.</param>
public sealed record Paper(string Id, PaperCitation Citation, IReadOnlyList<string> Remarks, IReadOnlyList<PaperTable> Tables)
{
    private static readonly ConcurrentDictionary<string, Paper> Loaded = new(StringComparer.Ordinal);

    /// <summary>The names of the papers whose numbers the library holds, sorted.</summary>
    public static IReadOnlyList<string> Names => PaperResources.Names;

    /// <summary>The paper named <paramref name="name"/> (one of <see cref="Names"/>), parsed once per process.</summary>
    /// <exception cref="DistillSharpException">No paper has that name (the message lists the known ones), or its file is malformed.</exception>
    public static Paper Load(string name)
    {
        if (Loaded.TryGetValue(name, out var paper))
        {
            return paper;
        }
        var json = PaperResources.Read(name) ?? throw new DistillSharpException(
            $"no paper data named '{name}'; the known papers are: {string.Join(", ", Names)}.");
        return Loaded.GetOrAdd(name, Parse(json, name));
    }

    /// <summary>
    /// Parses a paper file (the layout of <c>Reporting/Papers/*.json</c>) whose <c>paper</c> field must be
    /// <paramref name="name"/>. Any departure from the layout is an error naming the file and the field.
    /// </summary>
    /// <exception cref="DistillSharpException">The text is not a well-formed paper file.</exception>
    public static Paper Parse(string json, string name) => PaperJson.Parse(json, name);

    /// <summary>The table named <paramref name="id"/>.</summary>
    /// <exception cref="DistillSharpException">The paper has no such table; the message lists those it has.</exception>
    public PaperTable Table(string id) =>
        Tables.FirstOrDefault(t => t.Id == id) ?? throw new DistillSharpException(
            $"paper '{Id}' has no table '{id}'; its tables are: {string.Join(", ", Tables.Select(t => t.Id))}.");
}
