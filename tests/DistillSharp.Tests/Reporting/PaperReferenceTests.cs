using DistillSharp.Models;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Reporting;

public sealed class PaperReferenceTests
{
    // Typed from /work/shared/papers/wcord.md ("Reported CIFAR-100 top-1 (%) on the CRD protocol"), columns teacher,
    // student, KD, CRD; the WCoRD column is not CRD's and is left out.
    private static readonly (string Teacher, string Student, bool Same, double T, double S, double Kd, double Crd)[] Document =
    [
        ("wrn_40_2", "wrn_16_2", true, 75.61, 73.26, 74.92, 75.48),
        ("wrn_40_2", "wrn_40_1", true, 75.61, 71.98, 73.54, 74.14),
        ("resnet56", "resnet20", true, 72.34, 69.06, 70.66, 71.16),
        ("resnet110", "resnet20", true, 74.31, 69.06, 70.67, 71.46),
        ("resnet110", "resnet32", true, 74.31, 71.14, 73.08, 73.48),
        ("resnet32x4", "resnet8x4", true, 79.42, 72.50, 73.33, 75.51),
        ("vgg13", "vgg8", true, 74.64, 70.36, 72.98, 73.94),
        ("vgg13", "MobileNetV2", false, 74.64, 64.60, 67.37, 69.73),
        ("ResNet50", "MobileNetV2", false, 79.34, 64.60, 67.35, 69.11),
        ("ResNet50", "vgg8", false, 79.34, 70.36, 73.81, 74.30),
        ("resnet32x4", "ShuffleV1", false, 79.42, 70.50, 74.07, 75.11),
        ("resnet32x4", "ShuffleV2", false, 79.42, 71.82, 74.45, 75.65),
        ("wrn_40_2", "ShuffleV1", false, 75.61, 70.50, 74.83, 76.05),
    ];

    [Fact]
    public void TheThirteenPairsMatchTheDocumentCellByCell()
    {
        Assert.Equal(Document.Length, PaperReference.Cifar100.Count);
        for (int i = 0; i < Document.Length; i++)
        {
            var d = Document[i];
            var p = PaperReference.Cifar100[i];
            Assert.Equal((d.Teacher, d.Student, d.Same), (p.Teacher, p.Student, p.SameArchitecture));
            Assert.Equal(d.T, p.TeacherTop1);
            Assert.Equal(d.S, p.StudentTop1);
            Assert.Equal(d.Kd, p.KdTop1);
            Assert.Equal(d.Crd, p.CrdTop1);
        }
    }

    [Fact]
    public void EveryNetworkIsAZooModelAndTheSourceNamesThePaper()
    {
        foreach (var p in PaperReference.Cifar100)
        {
            Assert.Contains(p.Teacher, ModelZoo.Names);
            Assert.Contains(p.Student, ModelZoo.Names);
        }
        Assert.Contains("Tian, Krishnan, Isola, ICLR 2020", PaperReference.Source);
        Assert.Contains("RepDistiller", PaperReference.Source);
        Assert.Contains("CIFAR-100", PaperReference.Source);
    }

    [Fact]
    public void PairsAreFoundByTeacherAndStudent()
    {
        Assert.Equal(72.50, PaperReference.Get("resnet32x4", "resnet8x4").StudentTop1);
        Assert.Equal("resnet56 → resnet20", PaperReference.Get("resnet56", "resnet20").Name);
        Assert.Null(PaperReference.Find("resnet20", "resnet8"));
        var e = Assert.Throws<DistillSharpException>(() => PaperReference.Get("resnet20", "resnet8"));
        Assert.StartsWith("the CRD paper reports no CIFAR-100 pair resnet20 → resnet8; its pairs are: wrn_40_2 → wrn_16_2, ", e.Message);
    }
}
