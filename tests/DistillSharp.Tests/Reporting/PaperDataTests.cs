using DistillSharp.Reporting;

namespace DistillSharp.Tests.Reporting;

/// <summary>Every embedded paper file parses, is cited, says where each table comes from, and holds the numbers the specifications quote.</summary>
public sealed class PaperDataTests
{
    public static TheoryData<string> Papers() => new(Paper.Names);

    [Fact]
    public void OneFilePerReproducedPaperIsEmbedded() =>
        Assert.Equal(["crd", "london", "mimkd", "multibranch", "projector", "wcord"], Paper.Names);

    [Theory]
    [MemberData(nameof(Papers))]
    public void EveryFileParsesWithACitationAndASourcePerTable(string name)
    {
        var paper = Paper.Load(name);
        Assert.Equal(name, paper.Id);
        Assert.NotEmpty(paper.Citation.Authors);
        Assert.All(new[] { paper.Citation.Title, paper.Citation.Venue, paper.Citation.Short }, s => Assert.False(string.IsNullOrWhiteSpace(s)));
        Assert.InRange(paper.Citation.Year, 2014, 2025);
        Assert.NotNull(paper.Citation.Arxiv);
        Assert.NotEmpty(paper.Tables);
        foreach (var table in paper.Tables)
        {
            Assert.Same(paper.Citation, table.Citation);
            Assert.False(string.IsNullOrWhiteSpace(table.Source));
            Assert.False(string.IsNullOrWhiteSpace(table.Dataset));
            // Sources point to the paper or its repository, never to a file of this machine or of the project's notes.
            foreach (var text in new[] { table.Source, table.Via ?? "" }.Concat(table.Remarks).Concat(paper.Remarks))
            {
                Assert.DoesNotContain(".md", text, StringComparison.Ordinal);
                Assert.DoesNotContain("/work", text, StringComparison.Ordinal);
                Assert.DoesNotContain("shared", text, StringComparison.Ordinal);
            }
            Assert.All(table.Rows, r => Assert.Equal(table.Columns.Select(c => c.Name), r.Cells.Keys));
            Assert.All(table.Rows.SelectMany(r => r.Cells.Values).OfType<PaperCell>(), c => Assert.Equal(table.Metric, c.Metric));
            Assert.Equal(table.GroupHeading is not null, table.Rows.All(r => r.Group is not null) && table.Rows.Count > 0);
        }
    }

    [Fact]
    public void MimkdsAbstractNumbersAreThereWithTheRemarkOnItsBaselines()
    {
        var cifar = PaperTable.Load("mimkd", "cifar100").Get("ResNet-50", "ShuffleNetV2");
        Assert.Equal(("69.8", "74.55"), (cifar.Cell("student")!.Text, cifar.Cell("mimkd")!.Text));
        Assert.Null(cifar.Cell("teacher"));
        var imagenet = PaperTable.Load("mimkd", "imagenet");
        Assert.Equal("ImageNet", imagenet.Dataset);
        var pair = imagenet.Get("ResNet-34", "ResNet-18");
        Assert.Equal(("68.88", "70.32"), (pair.Cell("student")!.Text, pair.Cell("mimkd")!.Text));
        Assert.Equal(1.44, pair.Gain("mimkd", "student"));                         // the abstract's +1.44
        Assert.Contains("abstract", imagenet.Source, StringComparison.Ordinal);
        var paper = Paper.Load("mimkd");
        Assert.Contains(paper.Remarks, r => r.Contains("CRD's", StringComparison.Ordinal) && r.Contains("71.82", StringComparison.Ordinal) && r.Contains("69.76", StringComparison.Ordinal));
    }

    [Fact]
    public void LondonsImageNetNumbersAreTopOneErrors()
    {
        var table = PaperTable.Load("london");
        Assert.Equal(("ImageNet", PaperMetric.Top1Error), (table.Dataset, table.Metric));
        var pair = table.Get("ResNet-152", "ResNet-50");
        Assert.Equal(("21.12", "21.69"), (pair.Cell("london")!.Text, pair.Cell("teacher")!.Text));
        Assert.Null(pair.Cell("student"));
        // Top-1 = 100 - error, to the digits written: 78.88 and 78.31.
        Assert.Equal((78.88, "78.88"), (pair.Cell("london")!.Top1, pair.Cell("london")!.Top1Text));
        Assert.Equal(78.31, pair.Top1("teacher"));
    }

    [Fact]
    public void TheProjectorPapersImageNetNumbersAreThereAndItsCifarCellsAreNot()
    {
        var resnet = PaperTable.Load("projector", "imagenet").Get("ResNet-34", "ResNet-18");
        Assert.Equal(("71.63", "69.76"), (resnet.Cell("projector")!.Text, resnet.Cell("student")!.Text));
        Assert.Equal(1.87, resnet.Gain("projector", "student"));                   // 71.63 - 69.76
        Assert.Equal("77.2", PaperTable.Load("projector", "imagenet-deit").Get("RegNetY-160", "DeiT-Ti").Cell("projector")!.Text);
        var cifar = PaperTable.Load("projector", "cifar100");
        Assert.Empty(cifar.Rows);
        Assert.Contains(cifar.Remarks, r => r.StartsWith("Not available", StringComparison.Ordinal));
    }

    [Fact]
    public void TheMultiBranchPapersCellsAreAllNotAvailableAndItSaysSo()
    {
        var paper = Paper.Load("multibranch");
        Assert.Equal(["cifar10", "cifar100", "cinic10"], paper.Tables.Select(t => t.Id));
        Assert.All(paper.Tables, t => Assert.Empty(t.Rows));
        Assert.Contains(paper.Remarks, r => r.Contains("not available", StringComparison.Ordinal));
        var e = Assert.Throws<DistillSharpException>(() => paper.Table("cifar100").Get(null, "resnet32"));
        Assert.EndsWith("reports no pair resnet32; it has no row: its numbers are not available.", e.Message);
    }

    [Fact]
    public void CitationsCarryTheIdentifiersOfTheSpecifications()
    {
        Assert.Equal(
            [("crd", "1910.10699"), ("london", "2108.12905"), ("mimkd", "2110.15946"), ("multibranch", "2010.00795"), ("projector", "2303.11098"), ("wcord", "2012.08674")],
            Paper.Names.Select(n => (n, Paper.Load(n).Citation.Arxiv!)));
        Assert.Equal(("ICCV", 2021), (Paper.Load("london").Citation.Venue, Paper.Load("london").Citation.Year));
        Assert.Equal(("CVPR", 2021), (Paper.Load("wcord").Citation.Venue, Paper.Load("wcord").Citation.Year));
        Assert.Null(Paper.Load("wcord").Citation.Code);
    }
}
