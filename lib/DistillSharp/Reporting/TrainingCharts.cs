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
public static class TrainingCharts
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
