using System.Text.Json.Nodes;

namespace DistillSharp.Notebooks;

/// <summary>
/// A Jupyter notebook in nbformat 4: metadata and an ordered list of cells. Read and write it with
/// <see cref="NotebookFile"/>. Metadata is kept as JSON, so keys DistillSharp does not know survive a round trip.
/// </summary>
public sealed class Notebook
{
    /// <summary>The .NET Interactive C# kernel's name, as Jupyter front ends look it up.</summary>
    public const string KernelName = ".net-csharp";

    /// <summary>The major format version; DistillSharp reads and writes 4 only.</summary>
    public int FormatMajor { get; set; } = 4;

    /// <summary>The minor format version: 5 (cells carry ids) or an older 4.x.</summary>
    public int FormatMinor { get; set; } = 5;

    /// <summary>The notebook's metadata (kernelspec, language_info and anything else the file had).</summary>
    public JsonObject Metadata { get; set; } = new();

    /// <summary>The cells, in order.</summary>
    public List<NotebookCell> Cells { get; } = new();

    /// <summary>A new, empty nbformat 4.5 notebook with the .NET Interactive C# kernel metadata.</summary>
    public static Notebook CreateCSharp()
    {
        var notebook = new Notebook();
        notebook.Metadata["kernelspec"] = new JsonObject
        {
            ["display_name"] = ".NET (C#)",
            ["language"] = "C#",
            ["name"] = KernelName,
        };
        notebook.Metadata["language_info"] = new JsonObject
        {
            ["file_extension"] = ".cs",
            ["mimetype"] = "text/x-csharp",
            ["name"] = "C#",
            ["pygments_lexer"] = "csharp",
        };
        return notebook;
    }

    /// <summary>A deep copy: changing the copy leaves this notebook as it was.</summary>
    public Notebook Clone()
    {
        var copy = new Notebook { FormatMajor = FormatMajor, FormatMinor = FormatMinor, Metadata = (JsonObject)Metadata.DeepClone() };
        copy.Cells.AddRange(Cells.Select(c => c.Clone()));
        return copy;
    }
}

/// <summary>The kind of a notebook cell.</summary>
public enum CellType
{
    /// <summary>Source code that a kernel (here, the C# scripting engine) executes.</summary>
    Code,

    /// <summary>Markdown text (with LaTeX between dollar signs).</summary>
    Markdown,

    /// <summary>Raw text, passed through unchanged.</summary>
    Raw,
}

/// <summary>One notebook cell: its type, source, metadata and, for code cells, outputs and execution count.</summary>
public sealed class NotebookCell
{
    /// <summary>Creates a cell of <paramref name="type"/> with <paramref name="source"/>.</summary>
    public NotebookCell(CellType type, string source)
    {
        Type = type;
        Source = source;
    }

    /// <summary>The cell type.</summary>
    public CellType Type { get; set; }

    /// <summary>The cell id (required from nbformat 4.5 on; the writer fills missing ones).</summary>
    public string? Id { get; set; }

    /// <summary>The cell's source text, lines joined with their newlines.</summary>
    public string Source { get; set; }

    /// <summary>The cell's metadata (tags, execution times, anything else the file had).</summary>
    public JsonObject Metadata { get; set; } = new();

    /// <summary>For code cells: the execution counter, or null when the cell has not run.</summary>
    public int? ExecutionCount { get; set; }

    /// <summary>For code cells: the outputs, in the order they were produced.</summary>
    public List<CellOutput> Outputs { get; } = new();

    /// <summary>For markdown and raw cells: the attachments object, kept as it was read.</summary>
    public JsonObject? Attachments { get; set; }

    /// <summary>A new code cell.</summary>
    public static NotebookCell Code(string source) => new(CellType.Code, source);

    /// <summary>A new markdown cell.</summary>
    public static NotebookCell Markdown(string source) => new(CellType.Markdown, source);

    /// <summary>The cell's tags (<c>metadata.tags</c>), empty when it has none.</summary>
    public IReadOnlyList<string> Tags =>
        Metadata["tags"] is JsonArray tags
            ? tags.Select(t => t is JsonValue v && v.TryGetValue(out string? s) ? s : null).OfType<string>().ToList()
            : Array.Empty<string>();

    /// <summary>Whether <c>metadata.tags</c> contains <paramref name="tag"/>.</summary>
    public bool HasTag(string tag) => Tags.Contains(tag, StringComparer.Ordinal);

    /// <summary>Adds <paramref name="tag"/> to <c>metadata.tags</c> unless it is there; returns this cell.</summary>
    public NotebookCell WithTag(string tag)
    {
        if (HasTag(tag)) return this;
        if (Metadata["tags"] is not JsonArray tags)
        {
            tags = new JsonArray();
            Metadata["tags"] = tags;
        }
        tags.Add(tag);
        return this;
    }

    /// <summary>A deep copy of this cell.</summary>
    public NotebookCell Clone()
    {
        var copy = new NotebookCell(Type, Source)
        {
            Id = Id,
            Metadata = (JsonObject)Metadata.DeepClone(),
            ExecutionCount = ExecutionCount,
            Attachments = (JsonObject?)Attachments?.DeepClone(),
        };
        copy.Outputs.AddRange(Outputs.Select(o => o.Clone()));
        return copy;
    }
}
