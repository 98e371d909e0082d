using DistillSharp.Notebooks;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// Every notebook of the repository (notebooks/*.ipynb) runs at <c>profile=smoke</c> through the runner without a
/// cell error and saves its results table (its time is measured, not asserted: speed belongs in benchmarks); and each follows the conventions of
/// notebooks/README.md that can be checked without running it. <see cref="KernelNotebooksTests"/> runs them under
/// the real kernel too.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class RepositoryNotebooksTests
{
    public static TheoryData<string> Notebooks()
    {
        var data = new TheoryData<string>();
        foreach (var name in SmokeRuns.Names()) data.Add(name);
        return data;
    }

    [SmokeNotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task RunsAtTheSmokeProfileWithoutACellError(string name)
    {
        var (run, _, results) = await SmokeRuns.ThroughRunner(name);

        Assert.True(run.Succeeded, $"{name}: {run.Failure}");
        var code = run.Notebook.Cells.Where(c => c.Type == CellType.Code && !string.IsNullOrWhiteSpace(c.Source)).ToList();
        Assert.All(code, c => Assert.NotNull(c.ExecutionCount));
        Assert.DoesNotContain(code.SelectMany(c => c.Outputs), o => o is ErrorOutput);
        Assert.True(File.Exists(results), $"{name} saved no results table (NotebookResults.Save) at {results}");
        Assert.NotEmpty(CsvTable.Read(results).Rows);
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void FollowsTheNotebookConventions(string name)
    {
        var path = Path.Combine(SmokeRuns.RepositoryRoot(), "notebooks", name);
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

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void TheFirstCodeCellReferencesTheLibraryAndLoadsItsNativesFirst(string name)
    {
        var notebook = NotebookFile.Read(Path.Combine(SmokeRuns.RepositoryRoot(), "notebooks", name));
        var first = notebook.Cells.First(c => c.Type == CellType.Code).Source;
        Assert.Contains("#r \"../lib/DistillSharp/bin/Release/net10.0/DistillSharp.dll\"", first);
        Assert.Contains("#r \"nuget: Plotly.NET.Interactive, ", first);                        // the kernel draws charts with it
        Assert.Contains("NativeLibraries.Load();", first);
        Assert.DoesNotContain("DistillSharp.Notebooks", first);                                  // the host is not for notebooks
        var beforeLoad = first[..first.IndexOf("NativeLibraries.Load();", StringComparison.Ordinal)];
        Assert.DoesNotContain("torch.", beforeLoad.Replace("using static TorchSharp.torch;", "", StringComparison.Ordinal));
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
