using DistillSharp.Reporting;
using DistillSharp.Tests.Models;
using DistillSharp.Training;
using Microsoft.Data.Analysis;

namespace DistillSharp.Tests.Reporting;

public sealed class ResultTablesTests
{
    private static readonly RunSummary Teacher = new("teacher", "none", "resnet20", "", "cpu", "fashion-mnist", 10000, 5, 1, 91.25, 99.75, 91.5, 300.5);
    private static readonly RunSummary Student = new("student alone", "none", "resnet8", "", "cpu", "fashion-mnist", 10000, 5, 1, 87.5, 99.5, 87.75, 120.25);
    private static readonly RunSummary Kd = new("KD", "kd", "resnet8", "resnet20", "cpu", "fashion-mnist", 10000, 5, 1, 88.125, 99.625, 88.25, 180.0);
    private static readonly RunSummary Crd = new("CRD", "crd", "resnet8", "resnet20", "cpu", "fashion-mnist", 10000, 5, 1, 88.0, 99.5, 88.0, 200.75);
    private static readonly RunSummary Wcord = new("WCoRD", "wcord", "resnet8", "resnet20", "cpu", "fashion-mnist", 10000, 5, 1, 89.0, 99.5, 89.25, 240.0);
    private static readonly RunSummary Mimkd = new("MIMKD", "mimkd", "resnet8", "resnet20", "cpu", "fashion-mnist", 10000, 5, 1, 86.75, 99.0, 87.0, 210.0);
    private const string Machine = "2 CPU cores (AMD EPYC)";
    private const string ThisRun = "this run (fashion-mnist, cpu profile, 10,000 training images, 5 epochs, seed 1; 2 CPU cores (AMD EPYC)): top-1 (%)";

    private static object?[] Row(DataFrame frame, int row) => frame.Columns.Select(c => c[row]).ToArray();

    [Fact]
    public void TheRunsTableHoldsEveryValueOfEveryRun()
    {
        var table = ResultTables.Runs([Teacher, Kd]);
        Assert.Equal(
            ["label", "method", "student", "teacher", "profile", "dataset", "train_images", "epochs", "seed", "final_top1", "final_top5", "best_top1", "seconds"],
            table.Columns.Select(c => c.Name));
        Assert.Equal(2, table.Rows.Count);
        Assert.Equal(new object?[] { "teacher", "none", "resnet20", "", "cpu", "fashion-mnist", 10000, 5, 1L, 91.25, 99.75, 91.5, 300.5 }, Row(table, 0));
        Assert.Equal(new object?[] { "KD", "kd", "resnet8", "resnet20", "cpu", "fashion-mnist", 10000, 5, 1L, 88.125, 99.625, 88.25, 180.0 }, Row(table, 1));
    }

    [Fact]
    public void ARunSummaryTakesTheLastEpochTheBestEpochAndTheSummedSeconds()
    {
        EpochMetrics Epoch(int e, double top1, double top5, double seconds) =>
            new(e, 0.05, new Dictionary<string, double> { ["ce"] = 1 }, 0, 0, 0, top1, top5, seconds);
        var result = new RunResult([Epoch(1, 50, 90, 1.5), Epoch(2, 70, 95, 2.5), Epoch(3, 65, 96, 3.08)], null);
        var spec = RunSpec.FromProfile("smoke", "kd") with { Teacher = "unused", Options = TrainingProfile.Smoke.Options with { Seed = 7, Epochs = 3 } };

        var row = RunSummary.From("KD", spec, result, teacherModel: "resnet20");
        // Last epoch 65 / 96, best epoch 70, 1.5 + 2.5 + 3.08 = 7.08 seconds, to 0.1 s: 7.1, smoke's 512 images.
        Assert.Equal(new RunSummary("KD", "kd", "resnet8", "resnet20", "smoke", "fashion-mnist", 512, 3, 7, 65, 96, 70, 7.1), row);
        Assert.Empty(row.Accuracies);

        // Without a subset the whole training split counts: Fashion-MNIST has 60,000 training images.
        var whole = RunSummary.From("teacher", spec with { Method = "none", Teacher = null, TrainSubset = null }, result);
        Assert.Equal((60000, ""), (whole.TrainImages, whole.Teacher));

        var empty = Assert.Throws<DistillSharpException>(() => RunSummary.From("x", spec, new RunResult([], null), "t"));
        Assert.Equal("run 'x' has no finished epoch to summarise; train at least one epoch.", empty.Message);
    }

    [Fact]
    public void TheZooTableHoldsThePyTorchParameterAndMacCounts()
    {
        string[] names = ["resnet8", "resnet20", "wrn_16_2"];
        var table = ResultTables.Zoo(names);
        Assert.Equal(["model", "input", "classes", "parameters", "MACs", "features (stem, stages, pooled)"], table.Columns.Select(c => c.Name));
        for (int i = 0; i < names.Length; i++)
        {
            var golden = ZooGolden.Model(names[i]);
            Assert.Equal(names[i], table["model"][i]);
            Assert.Equal("3×32×32", table["input"][i]);
            Assert.Equal(100, table["classes"][i]);
            Assert.Equal(golden.GetProperty("params").GetInt64(), table["parameters"][i]);
            Assert.Equal(golden.GetProperty("macs").GetInt64(), table["MACs"][i]);
            // Golden shapes are for a batch of 2: drop the batch dimension.
            var stages = ZooGolden.Shapes(golden.GetProperty("shapes").GetProperty("features"));
            Assert.Equal(string.Join(", ", stages.Select(s => string.Join("×", s.Skip(1)))), table["features (stem, stages, pooled)"][i]);
        }
        Assert.Equal("16×32×32, 16×32×32, 32×16×16, 64×8×8, 64", table["features (stem, stages, pooled)"][0]);
    }

    [Fact]
    public void ARunSummaryKeepsTheLastEpochsAccuracyOfEachPrediction()
    {
        EpochMetrics Epoch(int e, double ensemble) =>
            new(e, 0.05, new Dictionary<string, double> { ["ce"] = 1 }, 0, 0, 0, 60, 90, 1)
            {
                Accuracies = new Dictionary<string, double> { ["train_top1/branch1"] = 50 + e, ["test_top1/ensemble"] = ensemble },
            };
        var result = new RunResult([Epoch(1, 70), Epoch(2, 66)], null);
        var spec = RunSpec.FromProfile("smoke", "none");
        var row = RunSummary.From("ONE", spec, result);
        Assert.Equal(new Dictionary<string, double> { ["train_top1/branch1"] = 52, ["test_top1/ensemble"] = 66 }, row.Accuracies);
        // Summaries compare their accuracies by value.
        Assert.Equal(row with { Accuracies = new Dictionary<string, double> { ["test_top1/ensemble"] = 66, ["train_top1/branch1"] = 52 } }, row);
        Assert.NotEqual(row with { Accuracies = new Dictionary<string, double> { ["test_top1/ensemble"] = 66 } }, row);
    }

    [Fact]
    public void TheRunsTableHasAColumnPerAccuracyKeyEmptyWhereARunHasNone()
    {
        var online = Student with
        {
            Label = "ONE", Method = "one",
            Accuracies = new Dictionary<string, double> { ["test_top1/branch1"] = 80.5, ["test_top1/ensemble"] = 82.25 },
        };
        var peers = Student with
        {
            Label = "DML", Method = "dml",
            Accuracies = new Dictionary<string, double> { ["test_top1/ensemble"] = 81.0, ["train_top1/peer1"] = 90.0 },
        };
        var table = ResultTables.Runs([Teacher, online, peers]);
        Assert.Equal(
            ["label", "method", "student", "teacher", "profile", "dataset", "train_images", "epochs", "seed", "final_top1", "final_top5", "best_top1", "seconds",
             "test_top1/branch1", "test_top1/ensemble", "train_top1/peer1"],
            table.Columns.Select(c => c.Name));
        Assert.Equal(new object?[] { null, 80.5, null }, table["test_top1/branch1"].Cast<object?>().ToArray());
        Assert.Equal(new object?[] { null, 82.25, 81.0 }, table["test_top1/ensemble"].Cast<object?>().ToArray());
        Assert.Equal(new object?[] { null, null, 90.0 }, table["train_top1/peer1"].Cast<object?>().ToArray());
    }

    [Fact]
    public void TheReferenceTableLabelsEveryNumberAsThePapersAndKeepsItsDigits()
    {
        var table = ResultTables.Reference(PaperTable.Load("crd"));
        Assert.Equal(
            ["teacher", "student", "architectures", "paper: teacher, CIFAR-100 top-1 (%)", "paper: student alone, CIFAR-100 top-1 (%)",
             "paper: KD, CIFAR-100 top-1 (%)", "paper: CRD, CIFAR-100 top-1 (%)"],
            table.Columns.Select(c => c.Name));
        Assert.Equal(13, table.Rows.Count);
        Assert.Equal(new object?[] { "resnet32x4", "resnet8x4", "same", "79.42", "72.50", "73.33", "75.51" }, Row(table, 5));
        Assert.Equal(new object?[] { "wrn_40_2", "ShuffleV1", "different", "75.61", "70.50", "74.83", "76.05" }, Row(table, 12));
    }

    [Fact]
    public void TheReferenceTableSaysNotAvailableWhereTheNumberIsUnknown()
    {
        var mimkd = ResultTables.Reference(PaperTable.Load("mimkd", "cifar100"));
        Assert.Equal(
            ["teacher", "student", "paper: teacher, CIFAR-100 top-1 (%)", "paper: student alone, CIFAR-100 top-1 (%)", "paper: MIMKD, CIFAR-100 top-1 (%)"],
            mimkd.Columns.Select(c => c.Name));
        Assert.Equal(new object?[] { "ResNet-50", "ShuffleNetV2", "not available", "69.8", "74.55" }, Row(mimkd, 0));

        var london = ResultTables.Reference(PaperTable.Load("london"));
        Assert.Equal("paper: LONDON, ImageNet top-1 error (%)", london.Columns[4].Name);
        Assert.Equal(new object?[] { "ResNet-152", "ResNet-50", "21.69", "not available", "21.12" }, Row(london, 0));

        // A table with no known row shows one row of "not available".
        var multibranch = ResultTables.Reference(PaperTable.Load("multibranch", "cifar100"));
        Assert.Equal(1, multibranch.Rows.Count);
        Assert.All(Row(multibranch, 0), cell => Assert.Equal(ResultTables.NotAvailable, cell));
    }

    [Fact]
    public void PaperVersusRunKeepsThePapersNumbersAndThisRunsInSeparateLabelledColumns()
    {
        var crd = PaperTable.Load("crd");
        var table = ResultTables.PaperVersusRun(crd, crd.Get("resnet56", "resnet20"),
            [new("teacher", "teacher", Teacher), new("student alone", "student", Student), new("KD", "kd", Kd), new("CRD", "crd", Crd)],
            "student alone", Machine);
        Assert.Equal(
            [
                "role", "paper: network", "paper (CRD, Tian et al. 2020): CIFAR-100 top-1 (%)", "paper: gain over student alone (points)",
                "this run: network", ThisRun, "this run: gain over student alone (points)",
            ],
            table.Columns.Select(c => c.Name));
        // Gains: 70.66 - 69.06 = 1.60, 71.16 - 69.06 = 2.10; 88.125 - 87.5 = 0.625 -> 0.63, 88.0 - 87.5 = 0.5.
        Assert.Equal(new object?[] { "teacher", "resnet56", "72.34", null, "resnet20", 91.25, null }, Row(table, 0));
        Assert.Equal(new object?[] { "student alone", "resnet20", "69.06", null, "resnet8", 87.5, null }, Row(table, 1));
        Assert.Equal(new object?[] { "KD", "resnet20", "70.66", "1.60", "resnet8", 88.125, 0.63 }, Row(table, 2));
        Assert.Equal(new object?[] { "CRD", "resnet20", "71.16", "2.10", "resnet8", 88.0, 0.5 }, Row(table, 3));
    }

    [Fact]
    public void PaperVersusRunTakesThreeRowsOfAnyMethod()
    {
        var mimkd = PaperTable.Load("mimkd", "cifar100");
        var run = Mimkd with { FinalTop1 = 88.3 };
        var table = ResultTables.PaperVersusRun(mimkd, mimkd.Get("ResNet-50", "ShuffleNetV2"),
            [new("teacher", "teacher", Teacher), new("student alone", "student", Student), new("MIMKD", "mimkd", run)],
            "student alone", Machine);
        Assert.Equal("paper (MIMKD, Shrivastava et al. 2023): CIFAR-100 top-1 (%)", table.Columns[2].Name);
        // Paper: 74.55 - 69.8 = 4.75; this run: 88.3 - 87.5 = 0.8 (0.79999... before rounding to 0.01).
        Assert.Equal(new object?[] { "teacher", "ResNet-50", "not available", null, "resnet20", 91.25, null }, Row(table, 0));
        Assert.Equal(new object?[] { "student alone", "ShuffleNetV2", "69.8", null, "resnet8", 87.5, null }, Row(table, 1));
        Assert.Equal(new object?[] { "MIMKD", "ShuffleNetV2", "74.55", "4.75", "resnet8", 88.3, 0.8 }, Row(table, 2));
    }

    [Fact]
    public void PaperVersusRunTakesFiveRowsAndSaysNotAvailableForARoleThePaperLacks()
    {
        var wcord = PaperTable.Load("wcord");
        var table = ResultTables.PaperVersusRun(wcord, wcord.Get("resnet56", "resnet20"),
            [
                new("teacher", "teacher", Teacher), new("student alone", "student", Student), new("KD", "kd", Kd),
                new("WCoRD", "wcord", Wcord), new("MIMKD", null, Mimkd),
            ],
            "student alone", Machine);
        Assert.Equal(5, table.Rows.Count);
        Assert.Equal("paper (WCoRD, Chen et al. 2021): CIFAR-100 top-1 (%)", table.Columns[2].Name);
        // Paper: 70.66 - 69.06 = 1.60, 71.92 - 69.06 = 2.86; this run: 0.625 -> 0.63, 89.0 - 87.5 = 1.5, 86.75 - 87.5 = -0.75.
        Assert.Equal(new object?[] { "KD", "resnet20", "70.66", "1.60", "resnet8", 88.125, 0.63 }, Row(table, 2));
        Assert.Equal(new object?[] { "WCoRD", "resnet20", "71.92", "2.86", "resnet8", 89.0, 1.5 }, Row(table, 3));
        Assert.Equal(new object?[] { "MIMKD", "not available", "not available", "not available", "resnet8", 86.75, -0.75 }, Row(table, 4));
    }

    [Fact]
    public void PaperVersusRunShowsTopOneErrorsAsTopOne()
    {
        var london = PaperTable.Load("london");
        var run = Kd with { Label = "LONDON", Method = "london" };
        var table = ResultTables.PaperVersusRun(london, london.Get("ResNet-152", "ResNet-50"),
            [new("teacher", "teacher", Teacher), new("student alone", "student", Student), new("LONDON", "london", run)],
            "student alone", Machine);
        Assert.Equal("paper (LONDON, Shang et al. 2021): ImageNet top-1 (%), as 100 − the reported top-1 error", table.Columns[2].Name);
        // 100 - 21.69 = 78.31, 100 - 21.12 = 78.88; the student alone is unknown, so the paper's gain is too.
        Assert.Equal(new object?[] { "teacher", "ResNet-152", "78.31", null, "resnet20", 91.25, null }, Row(table, 0));
        Assert.Equal(new object?[] { "student alone", "ResNet-50", "not available", null, "resnet8", 87.5, null }, Row(table, 1));
        Assert.Equal(new object?[] { "LONDON", "ResNet-50", "78.88", "not available", "resnet8", 88.125, 0.63 }, Row(table, 2));
    }

    [Fact]
    public void PaperVersusRunRefusesRunsOfDifferentSettings()
    {
        var crd = PaperTable.Load("crd");
        var e = Assert.Throws<DistillSharpException>(() => ResultTables.PaperVersusRun(crd, crd.Rows[0],
            [new("teacher", "teacher", Teacher), new("student alone", "student", Student), new("KD", "kd", Kd with { Seed = 2 }), new("CRD", "crd", Crd)],
            "student alone", "m"));
        Assert.Equal(
            "the paper-vs-this-run table needs runs with one seed; got teacher: 1, student alone: 1, KD: 2, CRD: 1. " +
            "Train the teacher and the students with the same setting, or compare them in separate tables.", e.Message);
    }

    [Fact]
    public void PaperVersusRunRefusesRowsItCannotPlace()
    {
        var crd = PaperTable.Load("crd");
        var pair = crd.Get("resnet56", "resnet20");
        string Message(PaperRow row, ComparisonRow[] rows, string baseline = "student alone") =>
            Assert.Throws<DistillSharpException>(() => ResultTables.PaperVersusRun(crd, row, rows, baseline, "m")).Message;
        Assert.Equal("the paper-vs-this-run table needs at least one row; give the roles to compare.", Message(pair, []));
        Assert.Equal("the baseline role 'student alone' is not one of the rows' roles (teacher, KD).",
            Message(pair, [new("teacher", "teacher", Teacher), new("KD", "kd", Kd)]));
        Assert.Equal("the paper-vs-this-run table has the role 'KD' twice; give each row its own role.",
            Message(pair, [new("student alone", "student", Student), new("KD", "kd", Kd), new("KD", "crd", Crd)]));
        Assert.Equal("table crd/cifar100 has no column 'dkd'; its columns are: teacher, student, kd, crd.",
            Message(pair, [new("student alone", "student", Student), new("DKD", "dkd", Kd)]));
        var foreign = PaperTable.Load("wcord").Get("resnet56", "resnet20");
        Assert.Equal("the pair resnet56 → resnet20 is not a row of table crd/cifar100; take it from that table (Find or Get).",
            Message(foreign, [new("student alone", "student", Student)]));
    }
}
