using System.Globalization;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace DistillSharp.Reporting;

public static partial class TrainingCharts
{
    /// <summary>The colour of the transport segments: a grey that neither point cloud's colour is.</summary>
    public const string TransportColor = "#8c8c8c";

    /// <summary>
    /// A transport plan between two point clouds in the plane: the <paramref name="source"/> points and the
    /// <paramref name="target"/> points as markers, and a segment from source i to target j for every
    /// <c>π_ij ≥ threshold · max π</c>, its width growing with the mass, <c>1 + 5 π_ij / max π</c> pixels. For showing
    /// what an optimal-transport plan (for instance <see cref="DistillSharp.Losses.Sinkhorn.Plan"/>) moves where: a
    /// plan close to an assignment draws one thick segment per point, a blurred (large ε) plan many thin ones.
    /// </summary>
    /// <param name="source">The n source points (x, y).</param>
    /// <param name="target">The m target points (x, y).</param>
    /// <param name="plan">π, n rows of m non-negative masses, not all 0.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="xAxis">The x-axis title, with its unit.</param>
    /// <param name="yAxis">The y-axis title, with its unit.</param>
    /// <param name="sourceLabel">The source cloud's legend entry.</param>
    /// <param name="targetLabel">The target cloud's legend entry.</param>
    /// <param name="threshold">Segments below this fraction of the largest mass are not drawn, in [0, 1).</param>
    /// <exception cref="DistillSharpException">No points, a plan whose shape is not n × m, a negative, non-finite or
    /// all-zero mass, a threshold outside [0, 1), or an empty title or label.</exception>
    public static GenericChart TransportPlan(
        IReadOnlyList<(double X, double Y)> source, IReadOnlyList<(double X, double Y)> target,
        IReadOnlyList<IReadOnlyList<double>> plan, string title, string xAxis, string yAxis,
        string sourceLabel = "source points", string targetLabel = "target points", double threshold = 0.02)
    {
        CheckTransport(source, target, plan, threshold);
        ChartStyle.CheckLabels(nameof(TransportPlan), [sourceLabel, targetLabel, TransportLegend]);
        foreach (var (text, what) in new[] { (title, "title"), (xAxis, "x-axis title"), (yAxis, "y-axis title") })
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new DistillSharpException($"{nameof(TransportPlan)}: the {what} is empty; say what is shown, with units.");
            }
        }
        double largest = plan.SelectMany(r => r).Max();
        var traces = new List<GenericChart>
        {
            Cloud(source, sourceLabel),
            Cloud(target, targetLabel),
        };
        bool first = true;
        for (int i = 0; i < source.Count; i++)
        {
            for (int j = 0; j < target.Count; j++)
            {
                double share = plan[i][j] / largest;
                if (share < threshold || plan[i][j] == 0)
                {
                    continue;
                }
                traces.Add(CSharpChart.Line<double, double, string>(
                    x: [source[i].X, target[j].X], y: [source[i].Y, target[j].Y],
                    ShowMarkers: new Optional<bool>(false, true),
                    Name: new Optional<string>(TransportLegend, true),
                    ShowLegend: new Optional<bool>(first, true),
                    LineColor: new Optional<Color>(Color.fromHex(TransportColor), true),
                    LineWidth: new Optional<double>(Math.Round(1 + 5 * share, 3), true)));
                first = false;
            }
        }
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, xAxis, yAxis);
    }

    /// <summary>The legend entry of the transport segments.</summary>
    public const string TransportLegend = "transported mass π_ij (width ∝ π_ij)";

    private static GenericChart Cloud(IReadOnlyList<(double X, double Y)> points, string label) =>
        CSharpChart.Point<double, double, string>(
            x: points.Select(p => p.X).ToList(), y: points.Select(p => p.Y).ToList(),
            Name: new Optional<string>(label, true),
            ShowLegend: new Optional<bool>(true, true));

    private static void CheckTransport(
        IReadOnlyList<(double X, double Y)> source, IReadOnlyList<(double X, double Y)> target,
        IReadOnlyList<IReadOnlyList<double>> plan, double threshold)
    {
        if (source.Count == 0 || target.Count == 0)
        {
            throw new DistillSharpException($"{nameof(TransportPlan)}: both point clouds need at least one point; got {source.Count} and {target.Count}.");
        }
        if (source.Concat(target).Any(p => !double.IsFinite(p.X) || !double.IsFinite(p.Y)))
        {
            throw new DistillSharpException($"{nameof(TransportPlan)}: every point needs finite coordinates.");
        }
        if (plan.Count != source.Count || plan.Any(r => r.Count != target.Count))
        {
            throw new DistillSharpException(
                $"{nameof(TransportPlan)}: the plan must be {source.Count} × {target.Count} (source points × target points); got {plan.Count} rows of {string.Join("/", plan.Select(r => r.Count).Distinct())}.");
        }
        if (plan.SelectMany(r => r).Any(v => !double.IsFinite(v) || v < 0))
        {
            throw new DistillSharpException($"{nameof(TransportPlan)}: a plan's masses must be finite and non-negative.");
        }
        if (plan.SelectMany(r => r).All(v => v == 0))
        {
            throw new DistillSharpException($"{nameof(TransportPlan)}: the plan moves no mass (every entry is 0).");
        }
        if (!(threshold >= 0 && threshold < 1))
        {
            throw new DistillSharpException(
                $"{nameof(TransportPlan)}: threshold is the fraction of the largest mass below which no segment is drawn, in [0, 1); got {threshold.ToString(CultureInfo.InvariantCulture)}.");
        }
    }
}
