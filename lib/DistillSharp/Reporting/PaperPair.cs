namespace DistillSharp.Reporting;

/// <summary>
/// One teacher–student pair of a paper's CIFAR-100 table: the paper's test top-1 (%) of the teacher, of the student
/// trained alone, and of the student distilled with KD and with CRD. These are the paper's numbers, not this
/// library's: see <see cref="PaperReference.Source"/>.
/// </summary>
/// <param name="Teacher">The teacher network (a <see cref="Models.ModelZoo"/> name).</param>
/// <param name="Student">The student network (a zoo name).</param>
/// <param name="SameArchitecture">True for the pairs of one family (CRD's Table 1), false across families (Table 2).</param>
/// <param name="TeacherTop1">The paper's teacher top-1 (%).</param>
/// <param name="StudentTop1">The paper's top-1 (%) of the student trained alone with cross-entropy.</param>
/// <param name="KdTop1">The paper's top-1 (%) of the student distilled with Hinton et al.'s KD.</param>
/// <param name="CrdTop1">The paper's top-1 (%) of the student distilled with CRD.</param>
public sealed record PaperPair(
    string Teacher, string Student, bool SameArchitecture,
    double TeacherTop1, double StudentTop1, double KdTop1, double CrdTop1)
{
    /// <summary>"teacher → student".</summary>
    public string Name => $"{Teacher} → {Student}";
}
