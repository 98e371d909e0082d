namespace DistillSharp.Reporting;

/// <summary>
/// The CIFAR-100 reference numbers of CRD's protocol (Tian, Krishnan, Isola, "Contrastive Representation
/// Distillation", ICLR 2020; code HobbitLong/RepDistiller), as data, so notebooks cite them from one place: the
/// teacher, the student alone, KD and CRD for 7 same-architecture and 6 cross-architecture pairs. They are the
/// paper's numbers (240 epochs on CIFAR-100 with RepDistiller's recipe), never this library's.
/// </summary>
public static class PaperReference
{
    /// <summary>Where the numbers come from.</summary>
    public const string Source =
        "CRD (Tian, Krishnan, Isola, ICLR 2020), Table 1 (same architecture) and Table 2 (different architectures): " +
        "CIFAR-100 test top-1 (%), teacher, student alone, KD and CRD columns, as quoted in the README of roymiles/ITRD " +
        "(transcribed in the project's papers/wcord.md); code: github.com/HobbitLong/RepDistiller.";

    /// <summary>The short attribution used in column headers.</summary>
    public const string ShortCitation = "CRD, Tian et al. 2020";

    /// <summary>The 13 pairs, same-architecture first, in the paper's order.</summary>
    public static IReadOnlyList<PaperPair> Cifar100 { get; } =
    [
        new("wrn_40_2", "wrn_16_2", true, 75.61, 73.26, 74.92, 75.48),
        new("wrn_40_2", "wrn_40_1", true, 75.61, 71.98, 73.54, 74.14),
        new("resnet56", "resnet20", true, 72.34, 69.06, 70.66, 71.16),
        new("resnet110", "resnet20", true, 74.31, 69.06, 70.67, 71.46),
        new("resnet110", "resnet32", true, 74.31, 71.14, 73.08, 73.48),
        new("resnet32x4", "resnet8x4", true, 79.42, 72.50, 73.33, 75.51),
        new("vgg13", "vgg8", true, 74.64, 70.36, 72.98, 73.94),
        new("vgg13", "MobileNetV2", false, 74.64, 64.60, 67.37, 69.73),
        new("ResNet50", "MobileNetV2", false, 79.34, 64.60, 67.35, 69.11),
        new("ResNet50", "vgg8", false, 79.34, 70.36, 73.81, 74.30),
        new("resnet32x4", "ShuffleV1", false, 79.42, 70.50, 74.07, 75.11),
        new("resnet32x4", "ShuffleV2", false, 79.42, 71.82, 74.45, 75.65),
        new("wrn_40_2", "ShuffleV1", false, 75.61, 70.50, 74.83, 76.05),
    ];

    /// <summary>The pair with this teacher and student, or null when the paper has none.</summary>
    public static PaperPair? Find(string teacher, string student) =>
        Cifar100.FirstOrDefault(p => p.Teacher == teacher && p.Student == student);

    /// <summary>The pair with this teacher and student; a pair the paper does not report is an error listing those it does.</summary>
    public static PaperPair Get(string teacher, string student) =>
        Find(teacher, student) ?? throw new DistillSharpException(
            $"the CRD paper reports no CIFAR-100 pair {teacher} → {student}; its pairs are: {string.Join(", ", Cifar100.Select(p => p.Name))}.");
}
