namespace DistillSharp.Reporting;

/// <summary>One bar of <see cref="TrainingCharts.AccuracyBars"/>: a label, its test top-1 (%) and an optional error.</summary>
/// <param name="Label">The bar's label on the category axis.</param>
/// <param name="Top1">Test top-1 accuracy in percent.</param>
/// <param name="Error">Half-length of the error bar in percentage points (e.g. one standard deviation over seeds), or null for none.</param>
public sealed record AccuracyBar(string Label, double Top1, double? Error = null);
