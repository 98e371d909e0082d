using System.Globalization;
using DistillSharp.Models;
using Microsoft.Data.Analysis;

namespace DistillSharp.Reporting;

/// <summary>
/// The tables of a distillation notebook as <see cref="DataFrame"/>s (shown as HTML tables, saved with
/// <see cref="NotebookResults"/>): the runs of this notebook, the model zoo, a paper's reported numbers
/// (<see cref="PaperTable"/>), and the "paper vs this run" table whose column headers say where every number comes
/// from. Tables hold this run's values unrounded and the paper's as the paper prints them; a paper number that is
/// not known reads <see cref="NotAvailable"/>. No table names a method: the rows and columns come from the caller
/// and from the paper's data.
/// </summary>
public static class ResultTables
{
    /// <summary>The text of a paper's cell whose number is unknown to this project.</summary>
    public const string NotAvailable = "not available";

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
    /// A paper's table (<see cref="PaperTable"/>), one row per pair: <c>teacher</c>, <c>student</c>, the group column
    /// when the table has one (e.g. <c>architectures</c>), then one column per paper column headed
    /// <c>paper: LABEL, DATASET METRIC</c> (e.g. <c>paper: KD, CIFAR-100 top-1 (%)</c>) so that no number can pass for
    /// a result of this library. Cells are the paper's text (digits as printed, in the table's metric), and
    /// <see cref="NotAvailable"/> where the number is unknown; a table with no known row gives one row of
    /// <see cref="NotAvailable"/>.
    /// </summary>
    public static DataFrame Reference(PaperTable table)
    {
        var rows = table.Rows;
        string[] Cells(Func<PaperRow, string> cell) => rows.Count == 0 ? [NotAvailable] : rows.Select(cell).ToArray();
        var frame = new DataFrame(
            new StringDataFrameColumn("teacher", Cells(r => r.Teacher ?? "none")),
            new StringDataFrameColumn("student", Cells(r => r.Student)));
        if (table.GroupHeading is not null)
        {
            frame.Columns.Add(new StringDataFrameColumn(table.GroupHeading, Cells(r => r.Group ?? NotAvailable)));
        }
        foreach (var column in table.Columns)
        {
            frame.Columns.Add(new StringDataFrameColumn(
                $"paper: {column.Label}, {table.Dataset} {table.Metric.Describe()}",
                Cells(r => r.Cells[column.Name]?.Text ?? NotAvailable)));
        }
        return frame;
    }

    /// <summary>
    /// The header of the paper's accuracy column in <see cref="PaperVersusRun"/>: <c>paper (CITATION): DATASET top-1 (%)</c>,
    /// with <c>, as 100 − the reported top-1 error</c> after it for a table of top-1 errors.
    /// </summary>
    public static string PaperHeader(PaperTable table) =>
        $"paper ({table.Citation.Short}): {table.Dataset} top-1 (%)" +
        (table.Metric == PaperMetric.Top1Error ? ", as 100 − the reported top-1 error" : "");

    /// <summary>
    /// The header of this run's accuracy column: <c>this run (DATASET, PROFILE profile, N training images, E epochs,
    /// seed S; MACHINE): top-1 (%)</c>.
    /// </summary>
    public static string ThisRunHeader(RunSummary run, string machine) =>
        string.Create(CultureInfo.InvariantCulture,
            $"this run ({run.Dataset}, {run.Profile} profile, {run.TrainImages:N0} training images, {run.Epochs} epoch{(run.Epochs == 1 ? "" : "s")}, seed {run.Seed}; {machine}): top-1 (%)");

    /// <summary>
    /// The paper's numbers for the pair <paramref name="pair"/> of <paramref name="table"/> beside this run's, one row per
    /// <see cref="ComparisonRow"/> in the order given, never in one column: <c>role</c>, <c>paper: network</c>,
    /// <see cref="PaperHeader"/>, <c>paper: gain over BASELINE (points)</c>, <c>this run: network</c>,
    /// <see cref="ThisRunHeader"/>, <c>this run: gain over BASELINE (points)</c>, where BASELINE is
    /// <paramref name="baselineRole"/>.
    /// </summary>
    /// <remarks>
    /// The paper's number of a row is the cell of its <see cref="ComparisonRow.PaperColumn"/> (top-1, converted from a
    /// top-1 error), and its network that column's <see cref="PaperColumn.Network"/> of the pair; both read
    /// <see cref="NotAvailable"/> when the row has no paper column or the cell is unknown. A row has gains when it is
    /// not the baseline and its run trains the baseline run's network: gain = top-1(row) − top-1(baseline), each side
    /// from its own numbers, rounded to 0.01 points; the paper's gain reads <see cref="NotAvailable"/> when either of
    /// its two numbers is. Rows without gains (the baseline, a teacher) leave both gain cells empty.
    /// </remarks>
    /// <param name="table">The paper's table the pair comes from (its citation, dataset, metric and columns).</param>
    /// <param name="pair">A row of <paramref name="table"/>: the pair this run is compared with.</param>
    /// <param name="rows">The roles to compare, at least one, each role once.</param>
    /// <param name="baselineRole">The <see cref="ComparisonRow.Role"/> gains are measured from (e.g. <c>student alone</c>).</param>
    /// <param name="machine">What the runs ran on (<see cref="MachineInfo.Describe"/>), for this run's header.</param>
    /// <exception cref="DistillSharpException">
    /// No rows, a repeated role, no row with the baseline role, a pair that is not a row of the table, a paper column
    /// the table does not have, or runs that differ in dataset, profile, epochs, seed or training images.
    /// </exception>
    public static DataFrame PaperVersusRun(
        PaperTable table, PaperRow pair, IReadOnlyList<ComparisonRow> rows, string baselineRole, string machine)
    {
        if (rows.Count == 0)
        {
            throw new DistillSharpException("the paper-vs-this-run table needs at least one row; give the roles to compare.");
        }
        var repeated = rows.GroupBy(r => r.Role, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw new DistillSharpException($"the paper-vs-this-run table has the role '{repeated.Key}' twice; give each row its own role.");
        }
        var baseline = rows.FirstOrDefault(r => r.Role == baselineRole) ?? throw new DistillSharpException(
            $"the baseline role '{baselineRole}' is not one of the rows' roles ({string.Join(", ", rows.Select(r => r.Role))}).");
        if (!table.Rows.Any(r => ReferenceEquals(r, pair)))
        {
            throw new DistillSharpException(
                $"the pair {pair.Name} is not a row of table {table.Paper}/{table.Id}; take it from that table (Find or Get).");
        }
        var columns = rows.Select(r => r.PaperColumn is null ? null : table.Column(r.PaperColumn)).ToList();
        CheckOneSetting(rows.Select(r => r.Run).ToList());

        bool HasGain(ComparisonRow row) => row.Role != baselineRole && row.Run.Student == baseline.Run.Student;
        double? PaperTop1(ComparisonRow row) => row.PaperColumn is null ? null : pair.Top1(row.PaperColumn);
        string? PaperGain(ComparisonRow row) =>
            !HasGain(row) ? null
            : PaperTop1(row) is double top1 && PaperTop1(baseline) is double basis
                ? AccuracyGain.Points(top1, basis).ToString("F2", CultureInfo.InvariantCulture)
                : NotAvailable;
        string NetworkOf(PaperColumn? column) => column?.Network switch
        {
            PaperNetwork.Teacher => pair.Teacher ?? "none",
            PaperNetwork.Student => pair.Student,
            _ => NotAvailable,
        };

        return new DataFrame(
            new StringDataFrameColumn("role", rows.Select(r => r.Role)),
            new StringDataFrameColumn("paper: network", columns.Select(NetworkOf)),
            new StringDataFrameColumn(PaperHeader(table), rows.Select(r => r.PaperColumn is null ? null : pair.Cell(r.PaperColumn)).Select(c => c?.Top1Text ?? NotAvailable)),
            new StringDataFrameColumn($"paper: gain over {baselineRole} (points)", rows.Select(PaperGain)),
            new StringDataFrameColumn("this run: network", rows.Select(r => r.Run.Student)),
            new DoubleDataFrameColumn(ThisRunHeader(rows[0].Run, machine), rows.Select(r => r.Run.FinalTop1)),
            new DoubleDataFrameColumn($"this run: gain over {baselineRole} (points)",
                rows.Select(r => HasGain(r) ? AccuracyGain.Points(r.Run.FinalTop1, baseline.Run.FinalTop1) : (double?)null)));
    }

    /// <summary>Checks that the runs of one comparison share dataset, profile, epochs, seed and training images.</summary>
    private static void CheckOneSetting(IReadOnlyList<RunSummary> runs)
    {
        foreach (var (what, value) in new (string, Func<RunSummary, object>)[]
                 { ("dataset", r => r.Dataset), ("profile", r => r.Profile), ("epochs", r => r.Epochs), ("seed", r => r.Seed), ("training images", r => r.TrainImages) })
        {
            if (runs.Select(value).Distinct().Count() > 1)
            {
                throw new DistillSharpException(
                    $"the paper-vs-this-run table needs runs with one {what}; got {string.Join(", ", runs.Select(r => $"{r.Label}: {value(r)}"))}. " +
                    "Train the teacher and the students with the same setting, or compare them in separate tables.");
            }
        }
    }

    private static string Shape(long[] shape) => string.Join("×", shape.Skip(1));
}
