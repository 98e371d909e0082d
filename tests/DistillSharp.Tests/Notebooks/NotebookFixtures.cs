using System.Diagnostics;
using DistillSharp.Notebooks;

namespace DistillSharp.Tests.Notebooks;

/// <summary>Small notebooks the tests write: code cells (optionally tagged) and markdown cells.</summary>
internal static class NotebookFixtures
{
    public static Notebook Create(params NotebookCell[] cells)
    {
        var notebook = Notebook.CreateCSharp();
        notebook.Cells.AddRange(cells);
        return notebook;
    }

    public static NotebookCell Code(string source) => NotebookCell.Code(source);

    public static NotebookCell Parameters(string source) => NotebookCell.Code(source).WithTag(NotebookParameters.ParametersTag);

    public static string Write(Notebook notebook, string folder, string name)
    {
        var path = Path.Combine(folder, name);
        NotebookFile.Write(notebook, path);
        return path;
    }

    public static Task<NotebookRunResult> RunAsync(Notebook notebook, string? outputPath = null, params string[] parameters) =>
        NotebookRunner.RunAsync(notebook, new NotebookRunOptions
        {
            Parameters = parameters.Select(NotebookParameters.ParseAssignment).ToList(),
            OutputPath = outputPath,
        });

    /// <summary>All stdout text of a cell's outputs.</summary>
    public static string Stdout(NotebookCell cell) =>
        string.Concat(cell.Outputs.OfType<StreamOutput>().Where(s => s.Name == "stdout").Select(s => s.Text));
}

/// <summary>A fact that runs only where Debian's python3-nbformat is installed (the reference validator).</summary>
public sealed class NbformatFactAttribute : FactAttribute
{
    public NbformatFactAttribute()
    {
        if (!PythonNbformat.Available)
        {
            Skip = "python3-nbformat is not installed (apt-get install python3-nbformat); the structural checks still run.";
        }
    }
}

/// <summary>Runs nbformat's own validator (the nbformat JSON schema) on a file.</summary>
internal static class PythonNbformat
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> IsAvailable = new(() =>
        File.Exists(Python) && Run("import nbformat").ExitCode == 0);

    public static bool Available => IsAvailable.Value;

    /// <summary>Validates the raw JSON of <paramref name="path"/> (no reading-time repairs); returns the validator's complaint or "".</summary>
    public static string Validate(string path)
    {
        var (code, stdout, stderr) = Run(
            "import json, sys, nbformat\n" +
            "with open(sys.argv[1], encoding='utf-8') as f: d = json.load(f)\n" +
            "nbformat.validate(nbformat.from_dict(d), repair_duplicate_cell_ids=False)\n" +
            "print('valid')", path);
        return code == 0 && stdout.Trim() == "valid" ? "" : stdout + stderr;
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string script, params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
