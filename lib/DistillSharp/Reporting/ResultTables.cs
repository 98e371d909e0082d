using System.Globalization;
using DistillSharp.Models;
using Microsoft.Data.Analysis;

namespace DistillSharp.Reporting;

/// <summary>
/// The tables of a distillation notebook as <see cref="DataFrame"/>s (shown as HTML tables, saved with
/// <see cref="Notebooks.NotebookResults"/>): the runs of this notebook, the model zoo, the paper's reference numbers,
/// and the "paper vs this run" table whose column headers say where every number comes from. Tables hold the values
/// given, unrounded.
/// </summary>
public static class ResultTables
{
    /// <summary>The role names of the rows of <see cref="PaperVersusRun"/>, in order.</summary>
    public static IReadOnlyList<string> Roles { get; } = ["teacher", "student alone", "KD", "CRD"];

    /// <summary>
    /// One row per run, columns <c>label, method, student, teacher, profile, dataset, train_images, epochs, seed,
    /// final_top1, final_top5, best_top1, seconds</c> (accuracies in %, <c>seed</c> named as the notebooks' seed
    /// parameter so sweeps file it under the swept value), then one column per distinct key of
    /// <see cref="RunSummary.Accuracies"/> (e.g. <c>test_top1/ensemble</c>), in the order the runs first give them,
    /// empty for a run without that prediction.
    /// </summary>
    public static DataFrame Runs(IEnumerable<RunSummary> runs)
    {
        var rows = runs.ToList();
        var frame = new DataFrame(
            new StringDataFrameColumn("label", rows.Select(r => r.Label)),
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new StringDataFrameColumn("student", rows.Select(r => r.Student)),
            new StringDataFrameColumn("teacher", rows.Select(r => r.Teacher)),
            new StringDataFrameColumn("profile", rows.Select(r => r.Profile)),
            new StringDataFrameColumn("dataset", rows.Select(r => r.Dataset)),
            new Int32DataFrameColumn("train_images", rows.Select(r => r.TrainImages)),
            new Int32DataFrameColumn("epochs", rows.Select(r => r.Epochs)),
            new Int64DataFrameColumn("seed", rows.Select(r => r.Seed)),
            new DoubleDataFrameColumn("final_top1", rows.Select(r => r.FinalTop1)),
            new DoubleDataFrameColumn("final_top5", rows.Select(r => r.FinalTop5)),
            new DoubleDataFrameColumn("best_top1", rows.Select(r => r.BestTop1)),
            new DoubleDataFrameColumn("seconds", rows.Select(r => r.Seconds)));
        foreach (var key in rows.SelectMany(r => r.Accuracies.Keys).Distinct(StringComparer.Ordinal).ToList())
        {
            frame.Columns.Add(new DoubleDataFrameColumn(key, rows.Select(r => r.Accuracies.TryGetValue(key, out var v) ? v : (double?)null)));
        }
        return frame;
    }

    /// <summary>
    /// The zoo networks named, measured with <see cref="ModelZoo.Describe"/> on one
    /// <paramref name="inChannels"/>×<paramref name="imageSize"/>×<paramref name="imageSize"/> image with
    /// <paramref name="numClasses"/> classes (the defaults are CIFAR-100's).
    /// </summary>
    public static DataFrame Zoo(IEnumerable<string> names, int numClasses = 100, int inChannels = 3, int imageSize = 32) =>
        Zoo(names.Select(n => ModelZoo.Describe(n, numClasses, inChannels, imageSize)));

    /// <summary>
    /// One row per model: <c>model</c>, <c>input</c> (C×H×W), <c>classes</c>, <c>parameters</c>, <c>MACs</c>
    /// (multiply-accumulates of one forward pass, as <see cref="ModelSummary.Macs"/> counts them) and
    /// <c>features (stem, stages, pooled)</c>: the C×H×W of each entry of <see cref="ModelOutput.Features"/>, the
    /// stem, each stage, and last the pooled vector that feeds the classifier (the one CRD embeds).
    /// </summary>
    public static DataFrame Zoo(IEnumerable<ModelSummary> models)
    {
        var rows = models.ToList();
        return new DataFrame(
            new StringDataFrameColumn("model", rows.Select(m => m.Name)),
            new StringDataFrameColumn("input", rows.Select(m => $"{m.InChannels}×{m.ImageSize}×{m.ImageSize}")),
            new Int32DataFrameColumn("classes", rows.Select(m => m.NumClasses)),
            new Int64DataFrameColumn("parameters", rows.Select(m => m.Parameters)),
            new Int64DataFrameColumn("MACs", rows.Select(m => m.Macs)),
            new StringDataFrameColumn("features (stem, stages, pooled)", rows.Select(m => string.Join(", ", m.FeatureShapes.Select(Shape)))));
    }

    /// <summary>
    /// The paper's reference numbers (<see cref="PaperReference"/>), one row per pair, every number column headed
    /// <c>paper: ...</c> so it cannot pass for a result of this library.
    /// </summary>
    public static DataFrame Reference(IEnumerable<PaperPair> pairs)
    {
        var rows = pairs.ToList();
        return new DataFrame(
            new StringDataFrameColumn("teacher", rows.Select(p => p.Teacher)),
            new StringDataFrameColumn("student", rows.Select(p => p.Student)),
            new StringDataFrameColumn("architectures", rows.Select(p => p.SameArchitecture ? "same" : "different")),
            new DoubleDataFrameColumn("paper: teacher top-1 (%)", rows.Select(p => p.TeacherTop1)),
            new DoubleDataFrameColumn("paper: student alone top-1 (%)", rows.Select(p => p.StudentTop1)),
            new DoubleDataFrameColumn("paper: KD top-1 (%)", rows.Select(p => p.KdTop1)),
            new DoubleDataFrameColumn("paper: CRD top-1 (%)", rows.Select(p => p.CrdTop1)));
    }

    /// <summary>The header of the paper's accuracy column in <see cref="PaperVersusRun"/>.</summary>
    public static string PaperHeader => $"paper ({PaperReference.ShortCitation}): CIFAR-100 top-1 (%)";

    /// <summary>
    /// The header of this run's accuracy column: <c>this run (DATASET, PROFILE profile, N training images, E epochs,
    /// seed S; MACHINE): top-1 (%)</c>.
    /// </summary>
    public static string ThisRunHeader(RunSummary run, string machine) =>
        string.Create(CultureInfo.InvariantCulture,
            $"this run ({run.Dataset}, {run.Profile} profile, {run.TrainImages:N0} training images, {run.Epochs} epoch{(run.Epochs == 1 ? "" : "s")}, seed {run.Seed}; {machine}): top-1 (%)");

    /// <summary>
    /// The paper's numbers for <paramref name="paper"/> beside this run's, row by role (teacher, student alone, KD,
    /// CRD), never in one column: <c>role</c>, <c>paper: network</c>, <see cref="PaperHeader"/>, <c>paper: gain over
    /// the student alone (points)</c>, <c>this run: network</c>, <see cref="ThisRunHeader"/>, <c>this run: gain over
    /// the student alone (points)</c>. Gains are top-1 minus the student-alone top-1 of the same side, for KD and CRD, rounded to 0.01 points.
    /// </summary>
    /// <exception cref="DistillSharpException">The four runs differ in dataset, profile, epochs or seed.</exception>
    public static DataFrame PaperVersusRun(PaperPair paper, RunSummary teacher, RunSummary student, RunSummary kd, RunSummary crd, string machine)
    {
        var runs = new[] { teacher, student, kd, crd };
        foreach (var (what, value) in new (string, Func<RunSummary, object>)[]
                 { ("dataset", r => r.Dataset), ("profile", r => r.Profile), ("epochs", r => r.Epochs), ("seed", r => r.Seed), ("training images", r => r.TrainImages) })
        {
            var distinct = runs.Select(value).Distinct().ToList();
            if (distinct.Count > 1)
            {
                throw new DistillSharpException(
                    $"the paper-vs-this-run table needs four runs with one {what}; got {string.Join(", ", runs.Select(r => $"{r.Label}: {value(r)}"))}. " +
                    "Train the teacher and the students with the same setting, or compare them in separate tables.");
            }
        }
        double[] paperTop1 = [paper.TeacherTop1, paper.StudentTop1, paper.KdTop1, paper.CrdTop1];
        double?[] paperGain = [null, null, Gain(paper.KdTop1, paper.StudentTop1), Gain(paper.CrdTop1, paper.StudentTop1)];
        double?[] runGain = [null, null, Gain(kd.FinalTop1, student.FinalTop1), Gain(crd.FinalTop1, student.FinalTop1)];
        return new DataFrame(
            new StringDataFrameColumn("role", Roles),
            new StringDataFrameColumn("paper: network", [paper.Teacher, paper.Student, paper.Student, paper.Student]),
            new DoubleDataFrameColumn(PaperHeader, paperTop1),
            new DoubleDataFrameColumn("paper: gain over the student alone (points)", paperGain),
            new StringDataFrameColumn("this run: network", runs.Select(r => r.Student)),
            new DoubleDataFrameColumn(ThisRunHeader(teacher, machine), runs.Select(r => r.FinalTop1)),
            new DoubleDataFrameColumn("this run: gain over the student alone (points)", runGain));
    }

    /// <summary>A difference of two accuracies in points, rounded to 0.01 (the precision the paper reports).</summary>
    private static double Gain(double top1, double baseline) => Math.Round(top1 - baseline, 2, MidpointRounding.AwayFromZero);

    private static string Shape(long[] shape) => string.Join("×", shape.Skip(1));
}
