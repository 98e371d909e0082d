using DistillSharp.Training;

namespace DistillSharp.Reporting;

/// <summary>One run's per-epoch metrics with the label its traces carry in a chart legend.</summary>
/// <param name="Label">The legend name, e.g. <c>teacher resnet20</c> or <c>KD resnet8</c>.</param>
/// <param name="Epochs">The run's <see cref="EpochMetrics"/> (<see cref="RunResult.Epochs"/> or a read <c>metrics.csv</c>).</param>
public sealed record LabelledRun(string Label, IReadOnlyList<EpochMetrics> Epochs);
