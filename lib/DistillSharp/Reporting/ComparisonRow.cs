namespace DistillSharp.Reporting;

/// <summary>One row of <see cref="ResultTables.PaperVersusRun"/>: a role, the paper's column for it, and this run.</summary>
/// <param name="Role">The row's label, e.g. <c>teacher</c>, <c>student alone</c> or a method's name.</param>
/// <param name="PaperColumn">The <see cref="PaperColumn.Name"/> of the paper's number for this role, or null when the paper reports none.</param>
/// <param name="Run">This run's result for the role.</param>
public sealed record ComparisonRow(string Role, string? PaperColumn, RunSummary Run);
