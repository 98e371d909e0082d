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

    [Fact]
    public async Task WcordPaperProfileIsCrdsProtocolWithItsNegativesAndRunsEveryPairOfThePapersTable()
    {
        var (run, settings) = await RunSettings("04-wcord.ipynb", "profile=paper");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("profile paper: CIFAR-100, 50,000 training and 10,000 test images, 240 epochs", settings);
        Assert.Contains("teacher resnet32x4, student resnet8x4; K = 16384;", settings);
        Assert.Contains("baselines: student alone, KD (α = 0.9, T = 4), CRD (β = 0.8)", settings);

        var table = global::DistillSharp.Reporting.PaperTable.Load("wcord");
        Assert.Equal(13, table.Rows.Count);
        var (row, rowSettings) = await RunSettings("04-wcord.ipynb", "profile=paper", "pair=8");
        Assert.True(row.Succeeded, row.Failure?.ToString());
        Assert.Equal(("ResNet50", "MobileNetV2"), (table.Rows[8].Teacher, table.Rows[8].Student));
        Assert.Contains("teacher ResNet50, student MobileNetV2; K = 16384;", rowSettings);

        var (bad, _) = await RunSettings("04-wcord.ipynb", "profile=paper", "pair=13");
        Assert.False(bad.Succeeded);
        Assert.Contains("pair must be -1 (the profile's pair) or a row of the paper's table, 0..12; got 13.", bad.Failure!.Error.Value);
    }

    [Fact]
    public async Task WcordChecksItsMethodParametersBeforeAnythingTrains()
    {
        var (run, _) = await RunSettings("04-wcord.ipynb", "profile=smoke", "lipschitz=3");
        Assert.False(run.Succeeded);
        Assert.Contains("lipschitz", run.Failure!.Error.Value);
        var (epsilon, _) = await RunSettings("04-wcord.ipynb", "profile=smoke", "sinkhorn_epsilon=0");
        Assert.False(epsilon.Succeeded);
        Assert.Contains("sinkhorn_epsilon", epsilon.Failure!.Error.Value);
        var (kd, _) = await RunSettings("04-wcord.ipynb", "profile=smoke", "kd_baseline=maybe");
        Assert.False(kd.Succeeded);
        Assert.Contains("kd_baseline must be auto, on or off; got 'maybe'.", kd.Failure!.Error.Value);
    }

    [Fact]
    public async Task MultiBranchPaperProfileTrainsOnCifar100OrCifar10OrCinic10()
    {
        foreach (var (dataset, title, train, test) in new[] { ("", "CIFAR-100", "50,000", "10,000"), ("cifar10", "CIFAR-10", "50,000", "10,000"), ("cinic10", "CINIC-10", "90,000", "90,000") })
        {
            var parameters = dataset == "" ? new[] { "profile=paper" } : new[] { "profile=paper", $"dataset={dataset}" };
            var (run, settings) = await RunSettings("02-multibranch-diversity.ipynb", parameters);
            Assert.True(run.Succeeded, run.Failure?.ToString());
            Assert.Contains($"{title}, {train} training and {test} test images", settings);
        }
    }
}
