using System.Diagnostics;
using DistillSharp.Notebooks;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// Every notebook of the repository (notebooks/*.ipynb) runs at <c>profile=smoke</c> through the runner without a
/// cell error, in under three minutes, and saves its results table; and each follows the conventions of
/// notebooks/README.md that can be checked without running it.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class RepositoryNotebooksTests : IDisposable
{
    /// <summary>The smoke budget of one notebook (notebooks/README.md asks for well under a minute).</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);

    private readonly string folder = Directory.CreateTempSubdirectory("distill-repo-nb-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    public static TheoryData<string> Notebooks()
    {
        var names = Directory.GetFiles(Path.Combine(RepositoryRoot(), "notebooks"), "*.ipynb")
            .Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();
        var data = new TheoryData<string>();
        foreach (var name in names) data.Add(name);
        return data;
    }

    [SmokeNotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task RunsAtTheSmokeProfileWithoutACellError(string name)
    {
        var notebook = NotebookFile.Read(Path.Combine(RepositoryRoot(), "notebooks", name));
        var declared = NotebookParameters.Declared(notebook).Select(p => p.Name).ToHashSet();
        var parameters = new List<KeyValuePair<string, string>> { new("profile", "smoke") };
        if (declared.Contains("runs_dir"))
        {
            parameters.Add(new("runs_dir", Path.Combine(folder, "runs")));           // keep the runs out of the test's folder
        }
        var output = Path.Combine(folder, name);

        var clock = Stopwatch.StartNew();
        var run = await NotebookRunner.RunAsync(notebook, new NotebookRunOptions { Parameters = parameters, OutputPath = output });
        clock.Stop();

        Assert.True(run.Succeeded, $"{name}: {run.Failure}");
        Assert.True(clock.Elapsed < Budget, $"{name} took {clock.Elapsed.TotalSeconds:F0} s at smoke; the budget is {Budget.TotalSeconds:F0} s");
        var code = run.Notebook.Cells.Where(c => c.Type == CellType.Code && !string.IsNullOrWhiteSpace(c.Source)).ToList();
        Assert.All(code, c => Assert.NotNull(c.ExecutionCount));
        Assert.DoesNotContain(code.SelectMany(c => c.Outputs), o => o is ErrorOutput);
        var results = NotebookContext.ResultsPathFor(output);
        Assert.True(File.Exists(results), $"{name} saved no results table (NotebookResults.Save) at {results}");
        Assert.NotEmpty(CsvTable.Read(results).Rows);
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void FollowsTheNotebookConventions(string name)
    {
        var path = Path.Combine(RepositoryRoot(), "notebooks", name);
        Assert.Empty(NbformatRules.Check(File.ReadAllText(path)));
        var notebook = NotebookFile.Read(path);
        Assert.Equal(".net-csharp", notebook.Metadata["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal(CellType.Markdown, notebook.Cells[0].Type);                              // learning goals first
        var parameters = NotebookParameters.Declared(notebook).Select(p => p.Name).ToList();
        Assert.Contains("profile", parameters);
        Assert.Contains("seed", parameters);
        Assert.Contains(notebook.Cells, c => c.Type == CellType.Code && c.Source.Contains("NotebookResults.Save(", StringComparison.Ordinal));
        Assert.Contains(notebook.Cells, c => c.Type == CellType.Markdown && c.Source.Contains("Fidelity", StringComparison.Ordinal));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DistillSharp.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (DistillSharp.sln) is not above the test folder");
    }
}

/// <summary>A theory over notebooks that train: skipped where Debian's dataset-fashion-mnist (the smoke data) is missing.</summary>
public sealed class SmokeNotebookTheoryAttribute : TheoryAttribute
{
    public SmokeNotebookTheoryAttribute()
    {
        if (!File.Exists(Path.Combine(DebianFashionMnistFactAttribute.Folder, "train-images-idx3-ubyte.gz")))
        {
            Skip = $"Debian's dataset-fashion-mnist is not installed ({DebianFashionMnistFactAttribute.Folder}); apt-get install dataset-fashion-mnist";
        }
    }
}
