namespace DistillSharp.Reporting;

/// <summary>One named line of <see cref="TrainingCharts.Lines"/>: its legend label and its points (x, y), in order.</summary>
/// <param name="Label">The legend label, distinct within a chart.</param>
/// <param name="X">The x values.</param>
/// <param name="Y">The y values, one per x value.</param>
public sealed record LineSeries(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y);
