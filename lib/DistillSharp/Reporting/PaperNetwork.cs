namespace DistillSharp.Reporting;

/// <summary>Which network of a <see cref="PaperRow"/> a <see cref="PaperColumn"/>'s number is the accuracy of.</summary>
public enum PaperNetwork
{
    /// <summary><c>"teacher"</c>: the row's teacher (a column such as the teacher's own accuracy).</summary>
    Teacher,

    /// <summary><c>"student"</c>: the row's student, trained alone or with a method.</summary>
    Student,
}
