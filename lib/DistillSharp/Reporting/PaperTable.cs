using System.Text;

namespace DistillSharp.Reporting;

/// <summary>
/// One table of a paper's reported numbers, as data (a <c>tables</c> entry of a paper file under
/// <c>Reporting/Papers/</c>): where the numbers come from, on which dataset, in which metric, its columns and its
/// rows. These are the paper's numbers, never this library's.
/// </summary>
/// <param name="Paper">The paper's name (<see cref="Reporting.Paper.Names"/>), e.g. <c>crd</c>.</param>
/// <param name="Citation">The paper's reference.</param>
/// <param name="Id">The table's name within the paper, e.g. <c>cifar100</c>.</param>
/// <param name="Title">What the table holds, in words.</param>
/// <param name="Source">Where in the paper (table, section, abstract) or its official repository the numbers are.</param>
/// <param name="Evidence">How the numbers were read (<see cref="PaperEvidence"/>).</param>
/// <param name="Via">The second-hand route by which they reached this project, or null when read at the source.</param>
/// <param name="Dataset">The dataset, as the paper names it (e.g. <c>CIFAR-100</c>).</param>
/// <param name="Metric">What the numbers measure.</param>
/// <param name="GroupHeading">The heading of the rows' <see cref="PaperRow.Group"/> (e.g. <c>architectures</c>), or null.</param>
/// <param name="Columns">The number columns, in the paper's order.</param>
/// <param name="Remarks">What a reader must know to compare with these numbers (protocol differences, missing cells).</param>
/// <param name="Rows">The rows in the paper's order; empty when no cell is known.</param>
public sealed record PaperTable(
    string Paper, PaperCitation Citation, string Id, string Title, string Source, PaperEvidence Evidence, string? Via,
    string Dataset, PaperMetric Metric, string? GroupHeading, IReadOnlyList<PaperColumn> Columns,
    IReadOnlyList<string> Remarks, IReadOnlyList<PaperRow> Rows)
{
    /// <summary>
    /// The table <paramref name="table"/> of paper <paramref name="paper"/> (<see cref="Reporting.Paper.Load"/>); with no
    /// table named, the paper's only table.
    /// </summary>
    /// <exception cref="DistillSharpException">The paper or the table is unknown, or the paper has several tables and none is named.</exception>
    public static PaperTable Load(string paper, string? table = null)
    {
        var file = Reporting.Paper.Load(paper);
        if (table is not null)
        {
            return file.Table(table);
        }
        return file.Tables.Count == 1 ? file.Tables[0] : throw new DistillSharpException(
            $"paper '{paper}' has {file.Tables.Count} tables ({string.Join(", ", file.Tables.Select(t => t.Id))}); " +
            $"name one, e.g. PaperTable.Load(\"{paper}\", \"{file.Tables[0].Id}\").");
    }

    /// <summary>The column named <paramref name="name"/>.</summary>
    /// <exception cref="DistillSharpException">The table has no such column; the message lists those it has.</exception>
    public PaperColumn Column(string name) =>
        Columns.FirstOrDefault(c => c.Name == name) ?? throw new DistillSharpException(
            $"table {Paper}/{Id} has no column '{name}'; its columns are: {string.Join(", ", Columns.Select(c => c.Name))}.");

    /// <summary>The row with this teacher (null: none) and student, as the paper names them, or null when the paper has none.</summary>
    public PaperRow? Find(string? teacher, string student) =>
        Rows.FirstOrDefault(r => r.Teacher == teacher && r.Student == student);

    /// <summary>The row with this teacher and student; a pair the table does not report is an error listing those it does.</summary>
    public PaperRow Get(string? teacher, string student) =>
        Find(teacher, student) ?? throw new DistillSharpException(
            $"table {Paper}/{Id} ({Citation.Short}, {Dataset}) reports no pair {PaperRow.PairName(teacher, student)}; " +
            (Rows.Count == 0 ? "it has no row: its numbers are not available." : $"its pairs are: {string.Join(", ", Rows.Select(r => r.Name))}."));

    /// <summary>
    /// Where the numbers come from, for a notebook to print above the table: the citation, the title, the source
    /// with its evidence and second-hand route, the dataset and metric, then the paper's and the table's remarks.
    /// </summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(Citation.Text);
        text.AppendLine($"{Title}: {Dataset} {Metric.Describe()}.");
        text.Append($"Source: {Source} ({Evidence.Describe()}");
        text.AppendLine(Via is null ? ")." : $"; reached this project via {Via}).");
        foreach (var remark in Remarks)
        {
            text.AppendLine(remark);
        }
        return text.ToString().TrimEnd();
    }
}
