using Plotly.NET;
using Plotly.NET.CSharp;
using PlotlyChart = Plotly.NET.Chart;

namespace DistillSharp.Reporting;

/// <summary>The title, both axis titles and the size every chart of the library carries.</summary>
internal static class ChartStyle
{
    /// <summary>Width of the charts in pixels: room for a long title and a legend beside the plot.</summary>
    public const int Width = 900;

    /// <summary>Height of the charts in pixels.</summary>
    public const int Height = 500;

    /// <summary><paramref name="chart"/> with <paramref name="title"/>, the two axis titles and the library's size.</summary>
    public static GenericChart Titled(GenericChart chart, string title, string xAxis, string yAxis)
    {
        chart = PlotlyChart.withTitle(title, null).Invoke(chart);
        chart = chart.WithSize(new Optional<int>(Width, true), new Optional<int>(Height, true));
        chart = chart.WithXAxisStyle<double, double, string>(TitleText: new Optional<string>(xAxis, true));
        return chart.WithYAxisStyle<double, double, string>(TitleText: new Optional<string>(yAxis, true));
    }

    /// <summary>Checks that a chart gets at least one series and that series labels are distinct.</summary>
    public static void CheckLabels(string chart, IReadOnlyCollection<string> labels)
    {
        if (labels.Count == 0)
        {
            throw new DistillSharpException($"{chart}: give at least one run or bar to plot.");
        }
        var repeated = labels.GroupBy(l => l).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
        {
            throw new DistillSharpException(
                $"{chart}: more than one series is labelled {string.Join(" or ", repeated.Select(r => $"'{r}'"))}; " +
                "give each its own label so the legend tells them apart.");
        }
    }
}
