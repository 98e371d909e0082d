using DistillSharp.Notebooks;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// The <c>paper</c> profile of each paper notebook names the paper's pair, dataset and recipe. Checked by running a
/// notebook's cells up to its settings cell (the first code cell after the parameters; nothing trains there) and
/// reading the settings it prints.
/// </summary>
public sealed class PaperProfileTests
{
    /// <summary>Runs <paramref name="name"/>'s cells up to its settings cell with <paramref name="parameters"/>; returns the run and that cell's text.</summary>
    internal static async Task<(NotebookRunResult Run, string Settings)> RunSettings(string name, params string[] parameters)
    {
        var full = NotebookFile.Read(Path.Combine(SmokeRuns.RepositoryRoot(), "notebooks", name));
        int parametersCell = full.Cells.FindIndex(c => c.Tags.Contains(NotebookParameters.ParametersTag));
        Assert.True(parametersCell >= 0, $"{name} has no parameters cell");
        int settingsCell = full.Cells.FindIndex(parametersCell + 1,
            c => c.Type == CellType.Code && !c.Tags.Contains(NotebookParameters.InjectedTag) && !string.IsNullOrWhiteSpace(c.Source));
        var notebook = full.Clone();
        notebook.Cells.RemoveRange(settingsCell + 1, notebook.Cells.Count - settingsCell - 1);
        var run = await NotebookFixtures.RunAsync(notebook, null, parameters);
        var settings = run.Notebook.Cells.LastOrDefault(c => c.Type == CellType.Code && c.Outputs.Count > 0);
        return (run, settings is null ? "" : NotebookFixtures.Stdout(settings));
    }

    [Fact]
    public async Task MimkdPaperProfileIsTheAbstractsPairOnCifar100WithTheFullRecipe()
    {
        var (run, settings) = await RunSettings("01-mimkd.ipynb", "profile=paper");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("profile paper: CIFAR-100, 50,000 training and 10,000 test images, 240 epochs", settings);
        Assert.Contains("teacher ResNet50, student ShuffleV2;", settings);
    }

    [Fact]
    public async Task MimkdPaperProfileRunsEachCrdPairByItsRow()
    {
        var table = global::DistillSharp.Reporting.PaperTable.Load("crd");
        var (run, settings) = await RunSettings("01-mimkd.ipynb", "profile=paper", "crd_pair=5");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains($"teacher {table.Rows[5].Teacher}, student {table.Rows[5].Student};", settings);
        Assert.Equal(("resnet32x4", "resnet8x4"), (table.Rows[5].Teacher, table.Rows[5].Student));

        var (bad, _) = await RunSettings("01-mimkd.ipynb", "profile=paper", $"crd_pair={table.Rows.Count}");
        Assert.False(bad.Succeeded);
        Assert.Contains($"crd_pair must be -1 (the profile's pair) or a row of CRD's table, 0..{table.Rows.Count - 1}; got {table.Rows.Count}.",
            bad.Failure!.Error.Value);
    }

    [Fact]
    public async Task MimkdChecksItsMethodParametersBeforeAnythingTrains()
    {
        var (run, _) = await RunSettings("01-mimkd.ipynb", "profile=smoke", "feat_dim=0");
        Assert.False(run.Succeeded);
        Assert.Contains("feat_dim", run.Failure!.Error.Value);
    }
}
