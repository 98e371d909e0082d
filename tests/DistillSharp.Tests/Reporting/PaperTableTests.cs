using DistillSharp.Models;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Reporting;

public sealed class PaperTableTests
{
    // Typed by hand from the project's specification of the WCoRD paper (its CIFAR-100 tables on CRD's protocol,
    // which quote CRD's Tables 1 and 2), independently of crd.json and wcord.json: teacher, student, group, then the
    // teacher, student alone, KD, CRD and WCoRD columns as printed.
    private static readonly (string Teacher, string Student, string Group, string[] Cells)[] Document =
    [
        ("wrn_40_2", "wrn_16_2", "same", ["75.61", "73.26", "74.92", "75.48", "76.11"]),
        ("wrn_40_2", "wrn_40_1", "same", ["75.61", "71.98", "73.54", "74.14", "74.72"]),
        ("resnet56", "resnet20", "same", ["72.34", "69.06", "70.66", "71.16", "71.92"]),
        ("resnet110", "resnet20", "same", ["74.31", "69.06", "70.67", "71.46", "71.88"]),
        ("resnet110", "resnet32", "same", ["74.31", "71.14", "73.08", "73.48", "74.20"]),
        ("resnet32x4", "resnet8x4", "same", ["79.42", "72.50", "73.33", "75.51", "76.15"]),
        ("vgg13", "vgg8", "same", ["74.64", "70.36", "72.98", "73.94", "74.72"]),
        ("vgg13", "MobileNetV2", "different", ["74.64", "64.60", "67.37", "69.73", "70.02"]),
        ("ResNet50", "MobileNetV2", "different", ["79.34", "64.60", "67.35", "69.11", "70.12"]),
        ("ResNet50", "vgg8", "different", ["79.34", "70.36", "73.81", "74.30", "74.68"]),
        ("resnet32x4", "ShuffleV1", "different", ["79.42", "70.50", "74.07", "75.11", "75.77"]),
        ("resnet32x4", "ShuffleV2", "different", ["79.42", "71.82", "74.45", "75.65", "76.48"]),
        ("wrn_40_2", "ShuffleV1", "different", ["75.61", "70.50", "74.83", "76.05", "76.68"]),
    ];

    private static readonly string[] CrdColumns = ["teacher", "student", "kd", "crd"];

    [Fact]
    public void CrdsThirteenPairsMatchTheTranscriptionCellByCell()
    {
        var crd = PaperTable.Load("crd");
        Assert.Equal(("crd", "cifar100", "CIFAR-100", PaperMetric.Top1), (crd.Paper, crd.Id, crd.Dataset, crd.Metric));
        Assert.Equal(CrdColumns, crd.Columns.Select(c => c.Name));
        Assert.Equal(["teacher", "student alone", "KD", "CRD"], crd.Columns.Select(c => c.Label));
        Assert.Equal(Document.Length, crd.Rows.Count);
        for (int i = 0; i < Document.Length; i++)
        {
            var d = Document[i];
            var row = crd.Rows[i];
            Assert.Equal((d.Teacher, d.Student, d.Group), (row.Teacher, row.Student, row.Group));
            for (int c = 0; c < CrdColumns.Length; c++)
            {
                var cell = row.Cell(CrdColumns[c])!;
                Assert.Equal(d.Cells[c], cell.Text);
                Assert.Equal(double.Parse(d.Cells[c], System.Globalization.CultureInfo.InvariantCulture), cell.Reported);
            }
        }
    }

    [Fact]
    public void WcordsTableHoldsCrdsColumnsAndItsOwnCellByCell()
    {
        var wcord = PaperTable.Load("wcord");
        var crd = PaperTable.Load("crd");
        string[] columns = [.. CrdColumns, "wcord"];
        Assert.Equal(columns, wcord.Columns.Select(c => c.Name));
        Assert.Equal(Document.Length, wcord.Rows.Count);
        for (int i = 0; i < Document.Length; i++)
        {
            Assert.Equal((Document[i].Teacher, Document[i].Student), (wcord.Rows[i].Teacher, wcord.Rows[i].Student));
            Assert.Equal(Document[i].Cells, columns.Select(c => wcord.Rows[i].Cell(c)!.Text));
            // The two files agree on CRD's own columns.
            Assert.Equal(CrdColumns.Select(c => crd.Rows[i].Cell(c)), CrdColumns.Select(c => wcord.Rows[i].Cell(c)));
        }
    }

    [Fact]
    public void EveryCrdNetworkIsAZooModelAndTheTableSaysWhereItsNumbersComeFrom()
    {
        var crd = PaperTable.Load("crd");
        Assert.All(crd.Rows.SelectMany(r => r.Networks), n => Assert.Contains(n, ModelZoo.Names));
        Assert.Equal(["Yonglong Tian", "Dilip Krishnan", "Phillip Isola"], crd.Citation.Authors);
        Assert.Equal(("ICLR", 2020, "1910.10699", "CRD, Tian et al. 2020"), (crd.Citation.Venue, crd.Citation.Year, crd.Citation.Arxiv, crd.Citation.Short));
        Assert.Contains("RepDistiller", crd.Citation.Code);
        Assert.Contains("Table 1", crd.Source);
        Assert.Contains("Table 2", crd.Source);
        Assert.Equal(PaperEvidence.Reimplementation, crd.Evidence);
        Assert.Contains("roymiles/ITRD", crd.Via);
        var described = crd.Describe();
        Assert.StartsWith("Yonglong Tian, Dilip Krishnan, Phillip Isola, “Contrastive Representation Distillation”, ICLR 2020, arXiv:1910.10699; code: https://github.com/HobbitLong/RepDistiller\n", described);
        Assert.Contains("CIFAR-100 top-1 (%).", described);
        Assert.Contains("read in a third-party re-implementation", described);
    }

    [Fact]
    public void PairsAreFoundByTeacherAndStudent()
    {
        var crd = PaperTable.Load("crd");
        Assert.Equal("72.50", crd.Get("resnet32x4", "resnet8x4").Cell("student")!.Text);
        Assert.Equal(72.5, crd.Get("resnet32x4", "resnet8x4").Top1("student"));
        Assert.Equal("resnet56 → resnet20", crd.Get("resnet56", "resnet20").Name);
        Assert.Null(crd.Find("resnet20", "resnet8"));
        var e = Assert.Throws<DistillSharpException>(() => crd.Get("resnet20", "resnet8"));
        Assert.StartsWith("table crd/cifar100 (CRD, Tian et al. 2020, CIFAR-100) reports no pair resnet20 → resnet8; its pairs are: wrn_40_2 → wrn_16_2, ", e.Message);
        var column = Assert.Throws<DistillSharpException>(() => crd.Get("resnet56", "resnet20").Cell("dkd"));
        Assert.Equal("the paper's table has no column 'dkd'; its columns are: teacher, student, kd, crd.", column.Message);
        Assert.Equal("table crd/cifar100 has no column 'dkd'; its columns are: teacher, student, kd, crd.",
            Assert.Throws<DistillSharpException>(() => crd.Column("dkd")).Message);
    }

    [Fact]
    public void APapersGainIsTheDifferenceOfItsTwoCellsToACentiPoint()
    {
        var pair = PaperTable.Load("crd").Get("resnet56", "resnet20");
        // 71.16 - 69.06 = 2.10 and 70.66 - 69.06 = 1.60, by hand.
        Assert.Equal(2.10, pair.Gain("crd", "student"));
        Assert.Equal(1.60, pair.Gain("kd", "student"));
        // A cell that is not available gives no gain.
        var mimkd = PaperTable.Load("mimkd", "cifar100").Get("ResNet-50", "ShuffleNetV2");
        Assert.Null(mimkd.Gain("mimkd", "teacher"));
    }

    [Fact]
    public void UnknownPapersAndTablesAreErrorsListingTheKnownOnes()
    {
        var paper = Assert.Throws<DistillSharpException>(() => Paper.Load("dkd"));
        Assert.Equal("no paper data named 'dkd'; the known papers are: crd, london, mimkd, multibranch, projector, wcord.", paper.Message);
        var table = Assert.Throws<DistillSharpException>(() => PaperTable.Load("mimkd", "cifar10"));
        Assert.Equal("paper 'mimkd' has no table 'cifar10'; its tables are: cifar100, imagenet.", table.Message);
        var several = Assert.Throws<DistillSharpException>(() => PaperTable.Load("mimkd"));
        Assert.Equal("paper 'mimkd' has 2 tables (cifar100, imagenet); name one, e.g. PaperTable.Load(\"mimkd\", \"cifar100\").", several.Message);
    }
}
