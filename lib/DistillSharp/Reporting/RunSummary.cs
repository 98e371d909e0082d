using DistillSharp.Data;
using DistillSharp.Training;

namespace DistillSharp.Reporting;

/// <summary>
/// One row of a results table (<see cref="ResultTables.Runs"/>): what was trained, on what, for how long, and how it
/// ended, with the accuracy of each prediction of a method that has several.
/// </summary>
/// <param name="Label">The run's label in tables and legends, e.g. <c>KD</c>.</param>
/// <param name="Method">The method (<c>none</c>, <c>kd</c>, <c>crd</c>, ...).</param>
/// <param name="Student">The network trained.</param>
/// <param name="Teacher">The teacher network, or "" for a run without one.</param>
/// <param name="Profile">The profile the defaults came from.</param>
/// <param name="Dataset">The dataset name.</param>
/// <param name="TrainImages">Training images used (the subset size, or the whole training split).</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="FinalTop1">Test top-1 (%) after the last epoch.</param>
/// <param name="FinalTop5">Test top-5 (%) after the last epoch.</param>
/// <param name="BestTop1">The best test top-1 (%) over the epochs (selected on the test set: for reference only).</param>
/// <param name="Seconds">Training and evaluation time summed over the epochs (data loading excluded), to 0.1 s.</param>
public sealed record RunSummary(
    string Label, string Method, string Student, string Teacher, string Profile, string Dataset, int TrainImages,
    int Epochs, long Seed, double FinalTop1, double FinalTop5, double BestTop1, double Seconds)
{
    private static readonly IReadOnlyDictionary<string, double> None = new Dictionary<string, double>();

    /// <summary>
    /// The accuracies (%) after the last epoch of each named prediction and mean of a method with several predictions
    /// (<see cref="EpochMetrics.Accuracies"/>, keys such as <c>test_top1/ensemble</c> or <c>train_top1/peer1</c>);
    /// empty for a method with one prediction.
    /// </summary>
    public IReadOnlyDictionary<string, double> Accuracies { get; init; } = None;

    /// <summary>Equal when every value is, <see cref="Accuracies"/> compared key by key.</summary>
    public bool Equals(RunSummary? other) =>
        other is not null
        && (Label, Method, Student, Teacher, Profile, Dataset, TrainImages, Epochs, Seed)
            == (other.Label, other.Method, other.Student, other.Teacher, other.Profile, other.Dataset, other.TrainImages, other.Epochs, other.Seed)
        && FinalTop1.Equals(other.FinalTop1) && FinalTop5.Equals(other.FinalTop5) && BestTop1.Equals(other.BestTop1)
        && Seconds.Equals(other.Seconds)
        && Accuracies.Count == other.Accuracies.Count
        && Accuracies.All(a => other.Accuracies.TryGetValue(a.Key, out var v) && v.Equals(a.Value));

    /// <summary>A hash of the run's identity (label, method, networks, seed) and final top-1.</summary>
    public override int GetHashCode() => HashCode.Combine(Label, Method, Student, Teacher, Dataset, Seed, FinalTop1);

    /// <summary>
    /// The row of a finished run. The teacher's network name is <paramref name="teacherModel"/> when given, else read
    /// from the header of the teacher checkpoint that <see cref="RunSpec.Teacher"/> names.
    /// </summary>
    /// <exception cref="DistillSharpException">The result holds no epoch, or the teacher checkpoint cannot be read.</exception>
    public static RunSummary From(string label, RunSpec spec, RunResult result, string? teacherModel = null)
    {
        if (result.Epochs.Count == 0)
        {
            throw new DistillSharpException($"run '{label}' has no finished epoch to summarise; train at least one epoch.");
        }
        string teacher = teacherModel
            ?? (spec.Teacher is null ? "" : Checkpoint.ReadHeader(Checkpoint.ResolveTeacher(spec.Teacher)).Model);
        int trainImages = spec.TrainSubset ?? DatasetCatalog.Info(spec.Dataset).TrainCount;
        return new RunSummary(
            label, spec.Method, spec.Student, teacher, spec.Profile, spec.Dataset, trainImages,
            result.Last.Epoch, spec.Options.Seed, result.Last.TestTop1, result.Last.TestTop5, result.Best.TestTop1,
            Math.Round(result.Epochs.Sum(e => e.Seconds), 1, MidpointRounding.AwayFromZero))
        {
            Accuracies = new Dictionary<string, double>(result.Last.Accuracies),
        };
    }
}
