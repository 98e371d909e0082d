using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DistillSharp.Notebooks;

/// <summary>
/// Turns a code cell's source into what the C# scripting engine compiles. Lines that only .NET Interactive needs
/// are blanked (not removed, so line numbers in errors stay the cell's own): <c>#r "nuget: ..."</c> naming a package
/// the runner carries, <c>#r ".../DistillSharp.dll"</c>, <c>#i</c> package sources and <c>#!csharp</c>. Anything
/// the runner cannot honour is an error naming the cell and line: another <c>#r</c> (the host's own
/// DistillSharp.Notebooks.dll included), <c>#load</c>, a cell of
/// another kernel (<c>#!fsharp</c>, <c>#!pwsh</c>, ... or cell metadata naming another language) or another
/// magic command.
/// </summary>
public static partial class CellSource
{
    /// <summary>The NuGet packages a notebook may name in <c>#r "nuget: ..."</c>: the runner has them loaded.</summary>
    public static IReadOnlyList<string> CarriedPackages { get; } =
    [
        "TorchSharp-cpu", "TorchSharp-cuda-linux", "TorchSharp", "Plotly.NET", "Plotly.NET.Interactive",
        "Plotly.NET.CSharp", "Microsoft.Data.Analysis",
    ];

    /// <summary>The library file a notebook may reference with <c>#r "&lt;path&gt;/DistillSharp.dll"</c>.</summary>
    public const string LibraryFileName = "DistillSharp.dll";

    /// <summary>The notebook host's own file, which a notebook must not reference (see <see cref="Prepare"/>).</summary>
    public const string HostFileName = "DistillSharp.Notebooks.dll";

    private static readonly HashSet<string> CSharpNames = new(StringComparer.OrdinalIgnoreCase) { "csharp", "c#", "cs" };

    private static readonly HashSet<string> KernelNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "fsharp", "f#", "fs", "pwsh", "powershell", "javascript", "js", "html", "markdown", "md", "sql", "kql",
        "mermaid", "python", "r", "http", "value", "vscode", "webview", "typescript", "ts",
    };

    private static readonly HashSet<string> NeutralVsCodeLanguages = new(StringComparer.OrdinalIgnoreCase)
    {
        "polyglot-notebook", "dotnet-interactive", "csharp", "dotnet-interactive.csharp",
    };

    /// <summary>
    /// The code to compile for the code cell <paramref name="cell"/>, which is cell <paramref name="cellNumber"/>
    /// (1-based) of the notebook.
    /// </summary>
    /// <exception cref="DistillSharpException">The cell holds something the runner does not accept.</exception>
    public static string Prepare(NotebookCell cell, int cellNumber)
    {
        if (CellLanguage(cell) is { } language)
        {
            throw new DistillSharpException(
                $"cell {cellNumber} is a {language} cell (its metadata says so); the runner executes C# only. " +
                "Rewrite it in C# or make it a markdown cell.");
        }

        var lines = cell.Source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var where = $"cell {cellNumber}, line {i + 1}";
            if (MagicLine().Match(line) is { Success: true } magic)
            {
                var name = magic.Groups["name"].Value;
                if (CSharpNames.Contains(name))
                {
                    lines[i] = "";
                    continue;
                }
                if (KernelNames.Contains(name))
                {
                    throw new DistillSharpException(
                        $"{where}: `#!{name}` starts code for the {name} kernel; the runner executes C# only. " +
                        "Rewrite that part in C# or move it out of the notebook.");
                }
                throw new DistillSharpException(
                    $"{where}: the magic command `#!{name}` is a .NET Interactive feature the runner does not have; remove it.");
            }
            if (AnyReferenceLine().IsMatch(line))
            {
                var reference = ReferenceLine().Match(line);
                if (reference.Success && FileName(reference.Groups["target"].Value.Trim()).Equals(HostFileName, StringComparison.OrdinalIgnoreCase))
                {
                    throw new DistillSharpException(
                        $"{where}: `{line.Trim()}` references the notebook host, which runs notebooks and is not for them " +
                        $"(it brings a C# compiler into .NET Interactive); reference {LibraryFileName} alone: everything a " +
                        "notebook calls, NotebookResults included, is in the library.");
                }
                if (!reference.Success || !IsAccepted(reference.Groups["target"].Value.Trim()))
                {
                    throw new DistillSharpException(
                        $"{where}: `{line.Trim()}` is not a reference the runner carries. It accepts " +
                        $"#r \"nuget: NAME[, VERSION]\" for {string.Join(", ", CarriedPackages)}, and " +
                        $"#r \"PATH/{LibraryFileName}\" for the DistillSharp library; other packages must come " +
                        "through the library (add them to lib/DistillSharp).");
                }
                lines[i] = "";
                continue;
            }
            if (SourceLine().IsMatch(line))
            {
                lines[i] = "";
                continue;
            }
            if (LoadLine().IsMatch(line))
            {
                throw new DistillSharpException(
                    $"{where}: `#load` is not supported by the runner; put the code in a cell or in the DistillSharp library.");
            }
        }
        return string.Join('\n', lines);
    }

    /// <summary>
    /// The language the notebook's metadata gives (<c>kernelspec.language</c>, <c>language_info.name</c>) when it
    /// is not C#, or null when it is C# or not given.
    /// </summary>
    public static string? NotebookLanguage(Notebook notebook)
    {
        foreach (var value in new[]
                 {
                     notebook.Metadata["kernelspec"]?["language"], notebook.Metadata["language_info"]?["name"],
                 })
        {
            if (value is JsonValue v && v.TryGetValue(out string? name) && !CSharpNames.Contains(name) && !name.Equals("polyglot", StringComparison.OrdinalIgnoreCase))
            {
                return name;
            }
        }
        return null;
    }

    private static bool IsAccepted(string target)
    {
        if (target.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
        {
            var package = target["nuget:".Length..].Split(',')[0].Trim();
            return CarriedPackages.Contains(package, StringComparer.OrdinalIgnoreCase);
        }
        return FileName(target).Equals(LibraryFileName, StringComparison.OrdinalIgnoreCase);
    }

    private static string FileName(string target) => target.Replace('\\', '/').Split('/')[^1];

    private static string? CellLanguage(NotebookCell cell)
    {
        var candidates = new[]
        {
            cell.Metadata["dotnet_interactive"]?["language"],
            cell.Metadata["polyglot_notebook"]?["kernelName"],
        };
        foreach (var node in candidates)
        {
            if (node is JsonValue v && v.TryGetValue(out string? name) && !CSharpNames.Contains(name))
            {
                return name;
            }
        }
        if (cell.Metadata["vscode"]?["languageId"] is JsonValue id && id.TryGetValue(out string? languageId)
            && !NeutralVsCodeLanguages.Contains(languageId))
        {
            return languageId.StartsWith("dotnet-interactive.", StringComparison.OrdinalIgnoreCase)
                ? languageId["dotnet-interactive.".Length..]
                : languageId;
        }
        return null;
    }

    [GeneratedRegex(@"^\s*#!(?<name>[^\s]+)")]
    private static partial Regex MagicLine();

    [GeneratedRegex(@"^\s*#r\s+""(?<target>[^""]*)""\s*(//.*)?$")]
    private static partial Regex ReferenceLine();

    [GeneratedRegex(@"^\s*#r\b")]
    private static partial Regex AnyReferenceLine();

    [GeneratedRegex(@"^\s*#i\s+""[^""]*""\s*(//.*)?$")]
    private static partial Regex SourceLine();

    [GeneratedRegex(@"^\s*#load\b")]
    private static partial Regex LoadLine();
}
