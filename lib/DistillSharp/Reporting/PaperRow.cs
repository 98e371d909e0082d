namespace DistillSharp.Reporting;

/// <summary>
/// One teacher–student pair of a <see cref="PaperTable"/> and the paper's number in each column, null where the
/// number is not available (unknown to this project).
/// </summary>
/// <param name="Teacher">The teacher network as the paper names it, or null for a method without a teacher.</param>
/// <param name="Student">The student network as the paper names it.</param>
/// <param name="Group">The row's group under <see cref="PaperTable.GroupHeading"/> (e.g. <c>same</c>), or null.</param>
/// <param name="Cells">Every column of the table by <see cref="PaperColumn.Name"/>, null where not available.</param>
public sealed record PaperRow(string? Teacher, string Student, string? Group, IReadOnlyDictionary<string, PaperCell?> Cells)
{
    /// <summary>"teacher → student", or the student alone for a row without a teacher.</summary>
    public string Name => PairName(Teacher, Student);

    /// <summary>The row's networks: the teacher (if any), then the student.</summary>
    public IReadOnlyList<string> Networks => Teacher is null ? [Student] : [Teacher, Student];

    /// <summary>The paper's number in <paramref name="column"/>, or null when it is not available.</summary>
    /// <exception cref="DistillSharpException">The table has no such column.</exception>
    public PaperCell? Cell(string column) =>
        Cells.TryGetValue(column, out var cell) ? cell : throw new DistillSharpException(
            $"the paper's table has no column '{column}'; its columns are: {string.Join(", ", Cells.Keys)}.");

    /// <summary>The paper's top-1 (%) in <paramref name="column"/> (converted from a top-1 error), or null when not available.</summary>
    public double? Top1(string column) => Cell(column)?.Top1;

    /// <summary>
    /// The paper's gain = top-1(<paramref name="column"/>) − top-1(<paramref name="baselineColumn"/>) in points, rounded
    /// to 0.01; null when either number is not available.
    /// </summary>
    public double? Gain(string column, string baselineColumn) =>
        Top1(column) is double top1 && Top1(baselineColumn) is double baseline ? AccuracyGain.Points(top1, baseline) : null;

    /// <summary>The <see cref="Name"/> of a pair: "teacher → student", or the student alone without a teacher.</summary>
    public static string PairName(string? teacher, string student) => teacher is null ? student : $"{teacher} → {student}";
}
