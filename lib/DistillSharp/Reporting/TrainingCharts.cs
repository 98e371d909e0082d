using System.Globalization;
using DistillSharp.Losses;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;
using PlotlyChart = Plotly.NET.Chart;
using PlotlyError = Plotly.NET.TraceObjects.Error;

namespace DistillSharp.Reporting;

/// <summary>
/// The charts of a distillation notebook, as Plotly.NET charts (shown by the notebook runner and by .NET Interactive):
/// curves over epochs of one or several runs (test top-1, each loss term, the learning rate), a bar chart of
/// accuracies, and the softened distribution <c>softmax(z / T)</c> of one logit vector at several temperatures.
/// Every chart has a title, both axes titled with their units, and a legend naming each trace.
/// </summary>
public static partial class TrainingCharts
{
    /// <summary>The x-axis title of the curves over epochs.</summary>
    public const string EpochAxis = "epoch (passes over the training set)";

    /// <summary>The y-axis title of accuracy charts.</summary>
    public const string Top1Axis = "test top-1 accuracy (%)";

    /// <summary>The y-axis title of the loss chart.</summary>
    public const string LossAxis = "loss term (nats, mean over the epoch's batches, weight included)";

    /// <summary>The y-axis title of the learning-rate chart.</summary>
    public const string LearningRateAxis = "learning rate η (per step, at the epoch's last step)";

    /// <summary>The y-axis title of the softened-distribution chart.</summary>
    public const string ProbabilityAxis = "probability softmax(z / T)ᵢ (0 to 1)";

    /// <summary>Test top-1 accuracy (%) after each epoch, one line per run.</summary>
    public static GenericChart TestTop1(IReadOnlyList<LabelledRun> runs, string title = "Test top-1 accuracy after each epoch")
    {
        ChartStyle.CheckLabels(nameof(TestTop1), runs.Select(r => r.Label).ToList());
        var traces = runs.Select(r => Line(r.Epochs.Select(e => e.Epoch), r.Epochs.Select(e => e.TestTop1), r.Label));
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, EpochAxis, Top1Axis);
    }

    /// <summary>
    /// Each loss term of each run per epoch (the epoch means of <c>metrics.csv</c>, with the method's weight already
    /// applied: the KD trace is <c>α · T² · KL</c>, not the bare KL), one line per run and term, named <c>run: term</c>.
    /// </summary>
    public static GenericChart LossTerms(IReadOnlyList<LabelledRun> runs, string title = "Training loss terms per epoch")
    {
        ChartStyle.CheckLabels(nameof(LossTerms), runs.Select(r => r.Label).ToList());
        var traces = new List<GenericChart>();
        foreach (var run in runs)
        {
            var terms = run.Epochs.SelectMany(e => e.Losses.Keys).Distinct().ToList();
            foreach (var term in terms)
            {
                var epochs = run.Epochs.Where(e => e.Losses.ContainsKey(term)).ToList();
                traces.Add(Line(epochs.Select(e => e.Epoch), epochs.Select(e => e.Losses[term]), $"{run.Label}: {term}"));
            }
        }
        if (traces.Count == 0)
        {
            throw new DistillSharpException($"{nameof(LossTerms)}: the runs have no loss terms to plot (no epoch was recorded).");
        }
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, EpochAxis, LossAxis);
    }

    /// <summary>The learning rate of each run per epoch (the rate of the epoch's last step, as <c>metrics.csv</c> records it).</summary>
    public static GenericChart LearningRate(IReadOnlyList<LabelledRun> runs, string title = "Learning-rate schedule")
    {
        ChartStyle.CheckLabels(nameof(LearningRate), runs.Select(r => r.Label).ToList());
        var traces = runs.Select(r => Line(r.Epochs.Select(e => e.Epoch), r.Epochs.Select(e => e.LearningRate), r.Label));
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, EpochAxis, LearningRateAxis);
    }

    /// <summary>
    /// Any quantity against any other, one line with markers per <see cref="LineSeries"/>, in the library's style: for
    /// what a notebook measures itself (an estimate per correlation, a spectral norm per epoch). The title and both axis
    /// titles, with units, are required.
    /// </summary>
    /// <exception cref="DistillSharpException">No series, repeated labels, a series whose x and y differ in length or
    /// that has no point, or an empty title.</exception>
    public static GenericChart Lines(IReadOnlyList<LineSeries> series, string title, string xAxis, string yAxis)
    {
        ChartStyle.CheckLabels(nameof(Lines), series.Select(s => s.Label).ToList());
        foreach (var s in series)
        {
            if (s.X.Count != s.Y.Count || s.X.Count == 0)
            {
                throw new DistillSharpException(
                    $"{nameof(Lines)}: series '{s.Label}' has {s.X.Count} x values and {s.Y.Count} y values; give it one y per x, at least one point.");
            }
        }
        foreach (var (text, what) in new[] { (title, "title"), (xAxis, "x-axis title"), (yAxis, "y-axis title") })
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new DistillSharpException($"{nameof(Lines)}: the {what} is empty; say what is shown, with units.");
            }
        }
        var traces = series.Select(s => CSharpChart.Line<double, double, string>(
            x: s.X.ToList(), y: s.Y.ToList(),
            ShowMarkers: new Optional<bool>(true, true),
            Name: new Optional<string>(s.Label, true),
            ShowLegend: new Optional<bool>(true, true)));
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, xAxis, yAxis);
    }

    /// <summary>
    /// A grid of values as a heatmap, in the library's style: one cell per (row, column), coloured by its value on
    /// <see cref="HeatmapColorscale"/> from the grid's least value to its greatest, the value written in the cell, and a
    /// colour bar titled <paramref name="valueTitle"/>. Row <c>r</c> of <paramref name="values"/> is drawn at
    /// <c>rows[r]</c> (the first row at the bottom, as plotly draws a category y axis), its entry <c>c</c> at
    /// <c>columns[c]</c>: for an ablation grid, say, test top-1 by normalisation (rows) and projector (columns).
    /// </summary>
    /// <param name="values">The values, one inner list per row, each as long as <paramref name="columns"/>; NaN leaves a cell empty.</param>
    /// <param name="columns">The x-axis category of each column, distinct.</param>
    /// <param name="rows">The y-axis category of each row, distinct.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="xAxis">The x-axis title (what the columns are).</param>
    /// <param name="yAxis">The y-axis title (what the rows are).</param>
    /// <param name="valueTitle">The colour bar's title: the value shown, with its unit.</param>
    /// <param name="format">The .NET numeric format of the value written in each cell (default <c>F2</c>).</param>
    /// <exception cref="DistillSharpException">No row or column, repeated labels, a row whose length differs from the
    /// number of columns, a row count other than the number of row labels, no finite value, or an empty title.</exception>
    public static GenericChart Heatmap(
        IReadOnlyList<IReadOnlyList<double>> values, IReadOnlyList<string> columns, IReadOnlyList<string> rows,
        string title, string xAxis, string yAxis, string valueTitle, string format = "F2")
    {
        ChartStyle.CheckLabels(nameof(Heatmap), columns.ToList());
        ChartStyle.CheckLabels(nameof(Heatmap), rows.ToList());
        if (values.Count != rows.Count)
        {
            throw new DistillSharpException(
                $"{nameof(Heatmap)}: {values.Count} rows of values but {rows.Count} row labels; give one label per row.");
        }
        for (int r = 0; r < values.Count; r++)
        {
            if (values[r].Count != columns.Count)
            {
                throw new DistillSharpException(
                    $"{nameof(Heatmap)}: row '{rows[r]}' has {values[r].Count} values but there are {columns.Count} column labels; give every row one value per column.");
            }
        }
        if (!values.SelectMany(v => v).Any(double.IsFinite))
        {
            throw new DistillSharpException($"{nameof(Heatmap)}: no value is finite; there is nothing to colour.");
        }
        foreach (var (given, what) in new[] { (title, "title"), (xAxis, "x-axis title"), (yAxis, "y-axis title"), (valueTitle, "colour bar title") })
        {
            if (string.IsNullOrWhiteSpace(given))
            {
                throw new DistillSharpException($"{nameof(Heatmap)}: the {what} is empty; say what is shown, with units.");
            }
        }
        var z = values.Select(row => row.Select(v => double.IsFinite(v) ? v : double.NaN).ToList()).ToList();
        var text = values.Select(row => row.Select(v => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "").ToList()).ToList();
        var colorBar = new ColorBar();
        var barTitle = new Title();
        barTitle.SetProperty("text", valueTitle);
        colorBar.SetProperty("title", barTitle);
        var scale = StyleParam.Colorscale.NewCustom(HeatmapColorscale.Select(s => Tuple.Create(s.Position, Color.fromHex(s.Color))));
        var chart = CSharpChart.Heatmap<double, string, string, string>(
            zData: z,
            X: new Optional<IEnumerable<string>>(columns.ToList(), true),
            Y: new Optional<IEnumerable<string>>(rows.ToList(), true),
            Name: new Optional<string>(valueTitle, true),
            ShowLegend: new Optional<bool>(false, true),
            MultiText: new Optional<IEnumerable<string>>(text.SelectMany(t => t).ToList(), true),
            ColorBar: new Optional<ColorBar>(colorBar, true),
            ColorScale: new Optional<StyleParam.Colorscale>(scale, true));
        chart = GenericChart.mapTrace(FuncConvert.FromFunc<Trace, Trace>(trace =>
        {
            trace.SetProperty("text", text);                       // one row of texts per row of z, as plotly reads them
            trace.SetProperty("texttemplate", "%{text}");           // plotly writes heatmap text in the cells only with a template
            return trace;
        }), chart);
        return ChartStyle.Titled(chart, title, xAxis, yAxis);
    }

    /// <summary>
    /// The heatmap's colours from the least value (position 0) to the greatest (1): Viridis as plotly.js defines it,
    /// written out in the figure so that plotly.js and the PNG renderer interpolate the same stops.
    /// </summary>
    public static IReadOnlyList<(double Position, string Color)> HeatmapColorscale { get; } =
    [
        (0, "#440154"), (1 / 16.0, "#48186a"), (2 / 16.0, "#472d7b"), (3 / 16.0, "#424086"), (4 / 16.0, "#3b528b"),
        (5 / 16.0, "#33638d"), (6 / 16.0, "#2c728e"), (7 / 16.0, "#26828e"), (8 / 16.0, "#21918c"), (9 / 16.0, "#1fa088"),
        (10 / 16.0, "#28ae80"), (11 / 16.0, "#3fbc73"), (12 / 16.0, "#5ec962"), (13 / 16.0, "#84d44b"), (14 / 16.0, "#addc30"),
        (15 / 16.0, "#d8e219"), (1, "#fde725"),
    ];

    /// <summary>
    /// A bar per label at its test top-1 (%), the value written on the bar, and error bars where
    /// <see cref="AccuracyBar.Error"/> is given (bars without one get none).
    /// </summary>
    public static GenericChart AccuracyBars(IReadOnlyList<AccuracyBar> bars, string title = "Test top-1 accuracy by run", string categoryAxis = "run")
    {
        ChartStyle.CheckLabels(nameof(AccuracyBars), bars.Select(b => b.Label).ToList());
        var chart = CSharpChart.Column<double, string, string>(
            values: bars.Select(b => b.Top1).ToList(),
            Keys: new Optional<IEnumerable<string>>(bars.Select(b => b.Label).ToList(), true),
            Name: new Optional<string>("test top-1 (%)", true),
            ShowLegend: new Optional<bool>(false, true),
            MultiText: new Optional<IEnumerable<string>>(bars.Select(b => b.Top1.ToString("F2", CultureInfo.InvariantCulture)).ToList(), true));
        if (bars.Any(b => b.Error is not null))
        {
            var error = PlotlyError.init<double, double>(
                Visible: FSharpOption<bool>.Some(true), Type: FSharpOption<StyleParam.ErrorType>.Some(StyleParam.ErrorType.Data),
                Symmetric: null, Array: FSharpOption<IEnumerable<double>>.Some(bars.Select(b => b.Error ?? 0).ToList()), Arrayminus: null,
                ArrayEncoded: null, ArrayminusEncoded: null, Value: null, Valueminus: null, Traceref: null, Tracerefminus: null,
                Copy_ystyle: null, Color: null, Thickness: null, Width: null);
            chart = PlotlyChart.withYError(error).Invoke(chart);
        }
        return ChartStyle.Titled(chart, title, categoryAxis, Top1Axis);
    }

    /// <summary>
    /// The softened distribution <c>p_i(T) = exp(z_i / T) / Σ_j exp(z_j / T)</c> of one logit vector
    /// (<see cref="KnowledgeDistillation.SoftenedProbabilities"/>), computed in double precision.
    /// </summary>
    public static double[] SoftenedDistribution(IReadOnlyList<double> logits, double temperature)
    {
        if (logits.Count == 0)
        {
            throw new DistillSharpException("the softened distribution needs at least one logit.");
        }
        using var scope = NewDisposeScope();
        var z = tensor(logits.ToArray(), float64);
        return KnowledgeDistillation.SoftenedProbabilities(z, temperature).data<double>().ToArray();
    }

    /// <summary>
    /// The softened distribution of one logit vector at each temperature (<see cref="SoftenedDistribution"/>): classes
    /// on the x axis, one group of bars per class, one trace per temperature named <c>T = value</c>.
    /// </summary>
    /// <param name="logits">The logit vector z, one value per class.</param>
    /// <param name="temperatures">The temperatures T &gt; 0 to compare.</param>
    /// <param name="classNames">The class names (default <c>class 0</c>, <c>class 1</c>, ...), as many as logits.</param>
    /// <param name="title">The chart title.</param>
    public static GenericChart SoftenedDistributions(
        IReadOnlyList<double> logits, IReadOnlyList<double> temperatures, IReadOnlyList<string>? classNames = null,
        string title = "Softened distributions softmax(z / T) of one logit vector")
    {
        var names = classNames ?? Enumerable.Range(0, logits.Count).Select(i => $"class {i}").ToList();
        if (names.Count != logits.Count)
        {
            throw new DistillSharpException(
                $"{nameof(SoftenedDistributions)}: {logits.Count} logits but {names.Count} class names; give one name per logit.");
        }
        var labels = temperatures.Select(TemperatureLabel).ToList();
        ChartStyle.CheckLabels(nameof(SoftenedDistributions), labels);
        var traces = temperatures.Select((t, i) => CSharpChart.Column<double, string, string>(
            values: SoftenedDistribution(logits, t),
            Keys: new Optional<IEnumerable<string>>(names, true),
            Name: new Optional<string>(labels[i], true),
            ShowLegend: new Optional<bool>(true, true)));
        return ChartStyle.Titled(CSharpChart.Combine(traces), title, "class", ProbabilityAxis);
    }

    /// <summary>The legend name of a temperature's trace: <c>T = 4</c>.</summary>
    public static string TemperatureLabel(double temperature) =>
        "T = " + temperature.ToString("G", CultureInfo.InvariantCulture);

    private static GenericChart Line(IEnumerable<int> x, IEnumerable<double> y, string name) =>
        CSharpChart.Line<int, double, string>(
            x: x.ToList(), y: y.ToList(),
            ShowMarkers: new Optional<bool>(true, true),
            Name: new Optional<string>(name, true),
            ShowLegend: new Optional<bool>(true, true));
}
