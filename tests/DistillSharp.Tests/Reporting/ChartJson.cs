using System.Text.Json;
using Plotly.NET;

namespace DistillSharp.Tests.Reporting;

/// <summary>A chart's plotly figure (data and layout) as JSON, as plotly.js receives it.</summary>
internal static class ChartJson
{
    public static JsonElement Figure(GenericChart chart) =>
        JsonDocument.Parse(GenericChart.toFigureJson(chart)).RootElement.Clone();

    public static JsonElement[] Traces(GenericChart chart) => Figure(chart).GetProperty("data").EnumerateArray().ToArray();

    public static string Title(GenericChart chart) => Figure(chart).GetProperty("layout").GetProperty("title").GetProperty("text").GetString()!;

    public static string AxisTitle(GenericChart chart, string axis) =>
        Figure(chart).GetProperty("layout").GetProperty(axis).GetProperty("title").GetProperty("text").GetString()!;

    public static double[] Doubles(this JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    public static string[] Strings(this JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
}
