namespace DistillSharp.Reporting;

/// <summary>One number column of a <see cref="PaperTable"/>: the teacher, the student alone, or a method.</summary>
/// <param name="Name">The column's key in the paper file's <c>values</c>, e.g. <c>teacher</c>, <c>student</c>, <c>kd</c>.</param>
/// <param name="Label">What the column holds, in words (e.g. <c>student alone</c>, <c>KD</c>), for headers.</param>
/// <param name="Network">Which network of the row the number measures.</param>
public sealed record PaperColumn(string Name, string Label, PaperNetwork Network);
