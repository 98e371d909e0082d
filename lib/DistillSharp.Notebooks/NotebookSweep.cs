using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using PlotlyChart = Plotly.NET.Chart;
using PlotlyError = Plotly.NET.TraceObjects.Error;
using DistillSharp.Reporting;

namespace DistillSharp.Notebooks;

/// <summary>One run of a sweep: its parameter values and the results table it saved (if any).</summary>
/// <param name="Parameters">The swept parameter values of this run, in the order of the sweep's parameters.</param>
/// <param name="ResultsPath">The run's <c>.results.csv</c>.</param>
public sealed record SweepRun(IReadOnlyList<KeyValuePair<string, string>> Parameters, string ResultsPath);

/// <summary>
/// The parts of <c>distill sweep</c> that do not start processes: the cartesian product of the swept values,
/// gathering the runs' results tables into one, the summary over seeds, and its plot.
/// </summary>
public static class NotebookSweep
{
    /// <summary>The parameter a summary averages over.</summary>
    public const string SeedParameter = "seed";

    /// <summary>
    /// Every combination of the swept values, the last parameter varying fastest:
    /// <c>a=[1,2], seed=[1,2]</c> gives (1,1), (1,2), (2,1), (2,2).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> Combinations(IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> swept)
    {
        IEnumerable<IReadOnlyList<KeyValuePair<string, string>>> combos = [[]];
        foreach (var (name, values) in swept)
        {
            combos = combos.SelectMany(c => values.Select(v => (IReadOnlyList<KeyValuePair<string, string>>)[.. c, KeyValuePair.Create(name, v)])).ToList();
        }
        return combos.ToList();
    }

    /// <summary>
    /// One table of every run's results: the swept parameters as the leading columns, then the union of the result
    /// columns (in the order first seen). A result column named like a swept parameter is left out (the parameter's
    /// column holds it). Runs whose results file does not exist are skipped and listed in <paramref name="missing"/>.
    /// </summary>
    public static CsvTable Gather(IReadOnlyList<SweepRun> runs, out IReadOnlyList<SweepRun> missing)
    {
        var parameterNames = runs.SelectMany(r => r.Parameters.Select(p => p.Key)).Distinct().ToList();
        var tables = new List<(SweepRun Run, CsvTable Table)>();
        var absent = new List<SweepRun>();
        foreach (var run in runs)
        {
            if (File.Exists(run.ResultsPath))
            {
                tables.Add((run, CsvTable.Read(run.ResultsPath)));
            }
            else
            {
                absent.Add(run);
            }
        }
        missing = absent;

        var resultColumns = tables.SelectMany(t => t.Table.Columns).Where(c => !parameterNames.Contains(c)).Distinct().ToList();
        var gathered = new CsvTable(parameterNames.Concat(resultColumns));
        foreach (var (run, table) in tables)
        {
            var values = run.Parameters.ToDictionary(p => p.Key, p => p.Value);
            for (int r = 0; r < table.Rows.Count; r++)
            {
                gathered.Add(parameterNames.Select(n => values.GetValueOrDefault(n, ""))
                    .Concat(resultColumns.Select(c => table.Get(r, c))).ToArray());
            }
        }
        return gathered;
    }

    /// <summary>
    /// Mean and sample standard deviation of every numeric result column over <see cref="SeedParameter"/>, per
    /// setting of the other swept parameters (and of the text result columns, such as a method name). Columns:
    /// the setting's columns, <c>n</c> (rows averaged), then <c>NAME_mean</c> and <c>NAME_std</c> for each numeric
    /// column (the deviation is empty when n is 1).
    /// </summary>
    public static CsvTable Summarize(CsvTable results, IReadOnlyList<string> sweptParameters)
    {
        var resultColumns = results.Columns.Where(c => !sweptParameters.Contains(c)).ToList();
        var numeric = resultColumns.Where(c => c != SeedParameter && IsNumeric(results, c)).ToList();
        var keys = sweptParameters.Where(p => p != SeedParameter)
            .Concat(resultColumns.Where(c => !numeric.Contains(c) && c != SeedParameter)).ToList();

        var summary = new CsvTable(keys.Append("n").Concat(numeric.SelectMany(c => new[] { c + "_mean", c + "_std" })));
        var groups = Enumerable.Range(0, results.Rows.Count)
            .GroupBy(r => string.Join("\u001f", keys.Select(k => results.Get(r, k))))
            .ToList();
        foreach (var group in groups)
        {
            var rows = group.ToList();
            var cells = keys.Select(k => results.Get(rows[0], k)).ToList();
            cells.Add(rows.Count.ToString(CultureInfo.InvariantCulture));
            foreach (var column in numeric)
            {
                var values = rows.Select(r => results.Get(r, column))
                    .Where(v => v.Length > 0)
                    .Select(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture))
                    .ToList();
                double mean = values.Count == 0 ? double.NaN : values.Average();
                cells.Add(values.Count == 0 ? "" : CsvTable.Text(mean));
                cells.Add(values.Count < 2 ? "" : CsvTable.Text(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1))));
            }
            summary.Add(cells.ToArray());
        }
        return summary;
    }

    /// <summary>
    /// An HTML page with one bar chart per numeric column of <paramref name="summary"/> (as made by
    /// <see cref="Summarize"/>): a bar per setting at the mean, error bars of one standard deviation. plotly.js
    /// comes from its CDN, referenced once in the page head.
    /// </summary>
    public static string SummaryHtml(CsvTable summary, string title)
    {
        var metrics = summary.Columns.Where(c => c.EndsWith("_mean", StringComparison.Ordinal)).Select(c => c[..^"_mean".Length]).ToList();
        int nIndex = summary.Columns.IndexOf("n");
        var keyColumns = summary.Columns.Take(nIndex).ToList();
        var labels = summary.Rows.Select(row => keyColumns.Count == 0
            ? "all runs"
            : string.Join(", ", keyColumns.Select((k, i) => $"{k}={row[i]}"))).ToList();
        var counts = summary.Rows.Select(row => row[nIndex]).Distinct().ToList();
        string nText = counts.Count == 1 ? $"n={counts[0]} per setting" : "n varies per setting";

        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>").Append(WebUtility.HtmlEncode(title)).Append("</title>\n")
            .Append(CultureInfo.InvariantCulture, $"<script src=\"https://cdn.plot.ly/plotly-{Globals.PLOTLYJS_VERSION}.min.js\"></script>\n")
            .Append("</head>\n<body>\n<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>\n")
            .Append("<p>Bars: mean over seeds; error bars: one sample standard deviation (").Append(WebUtility.HtmlEncode(nText)).Append(").</p>\n");
        foreach (var metric in metrics)
        {
            int meanIndex = summary.Columns.IndexOf(metric + "_mean"), stdIndex = summary.Columns.IndexOf(metric + "_std");
            var means = summary.Rows.Select(r => ParseOrZero(r[meanIndex])).ToList();
            var stds = summary.Rows.Select(r => ParseOrZero(r[stdIndex])).ToList();
            var chart = Plotly.NET.CSharp.Chart.Column<double, string, string>(
                values: means,
                Keys: new Optional<IEnumerable<string>>(labels, true),
                Name: new Optional<string>(metric, true));
            var error = PlotlyError.init<double, double>(
                Visible: FSharpOption<bool>.Some(true), Type: FSharpOption<StyleParam.ErrorType>.Some(StyleParam.ErrorType.Data),
                Symmetric: null, Array: FSharpOption<IEnumerable<double>>.Some(stds), Arrayminus: null, ArrayEncoded: null,
                ArrayminusEncoded: null, Value: null, Valueminus: null, Traceref: null, Tracerefminus: null, Copy_ystyle: null,
                Color: null, Thickness: null, Width: null);
            chart = PlotlyChart.withYError(error).Invoke(chart);
            chart = PlotlyChart.withTitle($"{metric}: mean ± sd over {SeedParameter}", null).Invoke(chart);
            chart = chart.WithXAxisStyle<double, double, string>(TitleText: new Optional<string>(keyColumns.Count == 0 ? "setting" : string.Join(", ", keyColumns), true));
            chart = chart.WithYAxisStyle<double, double, string>(TitleText: new Optional<string>(metric, true));
            var options = DisplayOptions.combine(GenericChart.getDisplayOptions(chart), DisplayOptions.init(null, null, null, null, null, null, PlotlyJSReference.NoReference));
            page.Append(GenericChart.toChartHTML(GenericChart.setDisplayOptions(options, chart))).Append('\n');
        }
        if (metrics.Count == 0)
        {
            page.Append("<p>The runs saved no numeric result columns.</p>\n");
        }
        page.Append("</body>\n</html>\n");
        return page.ToString();
    }

    private static double ParseOrZero(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static bool IsNumeric(CsvTable table, string column)
    {
        bool any = false;
        for (int r = 0; r < table.Rows.Count; r++)
        {
            var value = table.Get(r, column);
            if (value.Length == 0) continue;
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return false;
            any = true;
        }
        return any;
    }
}
