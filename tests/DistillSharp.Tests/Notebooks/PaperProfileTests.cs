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

    /// <summary>A freshly initialised 1000-class network saved as an imported teacher checkpoint in a temporary folder, deleted on disposal.</summary>
    private sealed class SavedImageNetTeacher : IDisposable
    {
        private readonly string folder = Directory.CreateTempSubdirectory("distill-imagenet-teacher-").FullName;

        public SavedImageNetTeacher(string model)
        {
            Path = System.IO.Path.Combine(folder, model + ".ckpt");
            using var network = global::DistillSharp.Models.ModelZoo.Create(model, 1000);
            global::DistillSharp.Training.Checkpoint.SaveModel(Path,
                new global::DistillSharp.Training.CheckpointHeader(model, 1000, 3, "imagenet", "imported", 0, 0, double.NaN) { ImageSize = 224 }, network);
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(folder, recursive: true);
    }

    /// <summary>Runs <paramref name="name"/>'s settings cell with <paramref name="parameters"/> and asserts it fails with <paramref name="message"/>.</summary>
    private static async Task AssertRefused(string name, string message, params string[] parameters)
    {
        var (run, _) = await RunSettings(name, parameters);
        Assert.False(run.Succeeded, string.Join(" ", parameters));
        Assert.Contains(message, run.Failure!.Error.Value);
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

    [Fact]
    public async Task LondonPaperProfileIsTheOfficialSettingAWithItsRecipeAndAlphaSchedule()
    {
        var (run, settings) = await RunSettings("03-london-lipschitz.ipynb", "profile=paper");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("profile paper: CIFAR-100, 50,000 training and 10,000 test images, 200 epochs, batch 128, lr 0.1 " +
            "(×0.1 after 100, ×0.01 after 150, Nesterov, momentum reset at milestones), weight decay 0.0005, seed 1", settings);
        Assert.Contains("setting a (train_with_distillation_a.py); teacher wrn_28_4, trained here, student wrn_16_4", settings);
        Assert.Contains("LONDON α = 0.8 (× 0.25 after 60% of the epochs), OFD β = 1, n = 10 from a uniform draw, CIFAR scaling, teacher in train mode", settings);
    }

    [Theory]
    [InlineData("b", "batch 128", "(×0.1 after 100, ×0.01 after 150, Nesterov", "teacher wrn_28_4, trained here, student wrn_16_4", "LONDON α = 0.2, OFD")]
    [InlineData("c", "batch 128", "(×0.1 after 100, ×0.01 after 150, ×0.002 after 175, Nesterov", "teacher wrn_28_4, trained here, student wrn_16_2", "LONDON α = 0.25, OFD")]
    [InlineData("d", "batch 128", "(×0.1 after 100, ×0.01 after 150, ×0.002 after 175, Nesterov", "teacher wrn_28_4, trained here, student resnet56", "LONDON α = 1 (× 2 after 60% of the epochs), OFD")]
    [InlineData("e", "batch 64", "(×0.1 after 100, ×0.01 after 150, ×0.001 after 175, Nesterov", "teacher pyramidnet200_a240, trained here, student wrn_28_4", "LONDON α = 4, OFD")]
    [InlineData("f", "batch 64", "(×0.1 after 100, ×0.01 after 150, ×0.002 after 175, Nesterov", "teacher pyramidnet200_a240, trained here, student pyramidnet110_a84", "LONDON α = 1, OFD")]
    public async Task LondonPaperProfileHasEachOfficialCifarSetting(string setting, string batch, string steps, string pair, string alpha)
    {
        var (run, settings) = await RunSettings("03-london-lipschitz.ipynb", "profile=paper", $"setting={setting}");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains($"CIFAR-100, 50,000 training and 10,000 test images, 200 epochs, {batch}, lr 0.1 {steps}", settings);
        Assert.Contains(pair, settings);
        Assert.Contains(alpha, settings);
    }

    [Fact]
    public async Task LondonImagenetSettingNeedsAnImportedTeacherAndHasTheImagenetRecipe()
    {
        await AssertRefused("03-london-lipschitz.ipynb", "distill import-weights resnet152-394f9c45.pth --model resnet152_imagenet", "profile=paper", "setting=imagenet");

        using var teacher = new SavedImageNetTeacher("resnet152_imagenet");
        var (run, settings) = await RunSettings("03-london-lipschitz.ipynb", "profile=paper", "setting=imagenet", $"teacher_run={teacher.Path}");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("ImageNet (ILSVRC-2012), 1,281,167 training and 50,000 test images, 100 epochs, batch 96, lr 0.1 " +
            "(×0.1 after 29, ×0.01 after 59, ×0.001 after 89, Nesterov), weight decay 0.0001, seed 1", settings);
        Assert.Contains($"setting imagenet (ImageNet/train_with_distillation_london.py); teacher resnet152_imagenet from {teacher.Path}, student resnet50_imagenet", settings);
        Assert.Contains("LONDON α = 2000, OFD β = 1, n = 5 from ones, ImageNet scaling", settings);

        await AssertRefused("03-london-lipschitz.ipynb", "teacher_run holds a resnet152_imagenet, but the teacher is resnet50_imagenet",
            "profile=paper", "setting=imagenet", $"teacher_run={teacher.Path}", "teacher=resnet50_imagenet");
    }

    [Fact]
    public async Task LondonRunsEachCrdPairWithCrdsProtocolAndRefusesBadChoices()
    {
        var table = global::DistillSharp.Reporting.PaperTable.Load("crd");
        var (run, settings) = await RunSettings("03-london-lipschitz.ipynb", "profile=paper", "crd_pair=8");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Equal(("ResNet50", "MobileNetV2"), (table.Rows[8].Teacher, table.Rows[8].Student));
        Assert.Contains("CIFAR-100, 50,000 training and 10,000 test images, 240 epochs, batch 64, lr 0.01 (×0.1 after 150, ×0.01 after 180, ×0.001 after 210)", settings);
        Assert.Contains("CRD pair 8, CRD's protocol; teacher ResNet50, trained here, student MobileNetV2", settings);
        Assert.Contains("LONDON α = 1, OFD β = 1, n = 10", settings);

        foreach (var (parameters, message) in new[]
        {
            (new[] { "profile=paper", "setting=a", "crd_pair=3" }, "choose setting ('a') or crd_pair (3), not both."),
            (new[] { "profile=paper", "setting=g" }, "setting must be empty or one of a, b, c, d, e, f, imagenet (the official code's); got 'g'."),
            (new[] { "profile=cpu", "setting=a" }, "setting and crd_pair choose the paper profile's runs; add -p profile=paper (the profile is 'cpu')."),
            (new[] { "profile=paper", "crd_pair=13" }, "crd_pair must be -1 (the profile's pair) or a row of CRD's table, 0..12; got 13."),
            (new[] { "profile=smoke", "power_iterations=2000" }, "power_iterations"),
            (new[] { "profile=smoke", "beta=-1" }, "beta"),
        })
        {
            await AssertRefused("03-london-lipschitz.ipynb", message, parameters);
        }
    }

    [Fact]
    public async Task ProjectorPaperProfileIsCrdsProtocolAndRunsEachCrdPair()
    {
        var (run, settings) = await RunSettings("05-projector-dynamics.ipynb", "profile=paper");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("profile paper: CIFAR-100, 50,000 training and 10,000 test images, 240 epochs, seed 1", settings);
        Assert.Contains("batch 64, lr 0.05 (×0.1 after 150, ×0.01 after 180, ×0.001 after 210), momentum 0.9, weight decay 0.0005", settings);
        Assert.Contains("teachers resnet32x4 and resnet8x4, student resnet8x4;", settings);

        var (row, rowSettings) = await RunSettings("05-projector-dynamics.ipynb", "profile=paper", "crd_pair=2");
        Assert.True(row.Succeeded, row.Failure?.ToString());
        var table = global::DistillSharp.Reporting.PaperTable.Load("crd");
        Assert.Contains($"CRD pair 2, CRD's protocol;", rowSettings);
        Assert.Contains($"teachers {table.Rows[2].Teacher} and resnet8x4, student {table.Rows[2].Student};", rowSettings);
    }

    [Fact]
    public async Task ProjectorImagenetSettingIsTheOfficialConfigurationWithAnImportedResnet34()
    {
        await AssertRefused("05-projector-dynamics.ipynb", "distill import-weights resnet34-b627a593.pth --model resnet34_imagenet", "profile=paper", "setting=imagenet");

        using var teacher = new SavedImageNetTeacher("resnet34_imagenet");
        var (run, settings) = await RunSettings("05-projector-dynamics.ipynb", "profile=paper", "setting=imagenet", $"teacher_run={teacher.Path}");
        Assert.True(run.Succeeded, run.Failure?.ToString());
        Assert.Contains("profile paper: ImageNet (ILSVRC-2012), 1,281,167 training and 50,000 test images, 100 epochs, seed 1", settings);
        Assert.Contains("setting imagenet (res3418.yaml); batch 256, lr 0.1 (×0.1 after 30, ×0.01 after 60, ×0.001 after 90), momentum 0.9, weight decay 0.0001", settings);
        Assert.Contains($"teachers resnet34_imagenet from {teacher.Path} and resnet18_imagenet, student resnet18_imagenet;", settings);
        Assert.Contains("srd: batchnorm, log_sum (p = 4), linear projector (trained), β = 2, α = 1, T = 1", settings);

        await AssertRefused("05-projector-dynamics.ipynb", "small_teacher_run holds a resnet34_imagenet, but the small teacher is resnet18_imagenet",
            "profile=paper", "setting=imagenet", $"small_teacher_run={teacher.Path}", "small_teacher=resnet18_imagenet", $"teacher_run={teacher.Path}");

        foreach (var (parameters, message) in new[]
        {
            (new[] { "profile=paper", "setting=cifar" }, "setting must be empty (CIFAR-100, CRD's protocol) or imagenet; got 'cifar'."),
            (new[] { "profile=smoke", "crd_pair=1" }, "setting and crd_pair choose the paper profile's runs; add -p profile=paper (the profile is 'smoke')."),
            (new[] { "profile=paper", "setting=imagenet", "crd_pair=1" }, "choose setting ('imagenet') or crd_pair (1), not both."),
            (new[] { "profile=paper", "crd_pair=-2" }, "crd_pair must be -1 (the profile's pair) or a row of CRD's table, 0..12; got -2."),
        })
        {
            await AssertRefused("05-projector-dynamics.ipynb", message, parameters);
        }
    }
}
