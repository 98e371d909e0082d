using System.Globalization;
using System.Text.Json;
using DistillSharp.Reporting;
using SkiaSharp;
using static DistillSharp.Tests.Reporting.ChartJson;

namespace DistillSharp.Tests.Reporting;

public sealed class HeatmapChartTests
{
    private static readonly string[] Columns = ["none", "frozen", "linear"];
    private static readonly string[] Rows = ["none", "l2"];

    // The least value at (row 0, column 0), the greatest at (row 1, column 2), 70.5 between them at (row 0, column 1).
    private static readonly double[][] Grid = [[61.25, 70.5, 64.0], [66.0, 62.5, 80.75]];

    private static Plotly.NET.GenericChart Chart() => TrainingCharts.Heatmap(
        Grid, Columns, Rows, "ablation grid", "projector", "normalisation", "test top-1 (%)");

    [Fact]
    public void TheFigureHoldsTheValuesLabelsTitlesAndTheWrittenValues()
    {
        var chart = Chart();
        var trace = Assert.Single(Traces(chart));
        Assert.Equal("heatmap", trace.GetProperty("type").GetString());
        var z = trace.GetProperty("z").EnumerateArray().Select(r => r.Doubles()).ToArray();
        Assert.Equal(Grid, z);
        Assert.Equal(Columns, trace.GetProperty("x").Strings());
        Assert.Equal(Rows, trace.GetProperty("y").Strings());
        var text = trace.GetProperty("text").EnumerateArray().Select(r => r.Strings()).ToArray();
        Assert.Equal(new[] { new[] { "61.25", "70.50", "64.00" }, new[] { "66.00", "62.50", "80.75" } }, text);
        Assert.Equal("%{text}", trace.GetProperty("texttemplate").GetString());
        Assert.Equal("test top-1 (%)", trace.GetProperty("colorbar").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal("ablation grid", Title(chart));
        Assert.Equal("projector", AxisTitle(chart, "xaxis"));
        Assert.Equal("normalisation", AxisTitle(chart, "yaxis"));
        // The colourscale runs from Viridis's dark purple to its yellow (plotly.js's end colours, #440154 and #fde725).
        var stops = Stops(trace);
        Assert.Equal((0.0, new SKColor(0x44, 0x01, 0x54)), stops[0]);
        Assert.Equal((1.0, new SKColor(0xfd, 0xe7, 0x25)), stops[^1]);
    }

    [Fact]
    public void ThePngColoursEachCellOnTheColourscaleAtItsPlace()
    {
        var chart = Chart();
        var stops = Stops(Assert.Single(Traces(chart)));
        var png = ChartOutput.Png(chart);
        Assert.NotNull(png);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((900, 500), (bitmap.Width, bitmap.Height));

        SKColor Expected(double v) => Interpolate(stops, (v - 61.25) / (80.75 - 61.25));
        Assert.Equal(stops[0].Color, Expected(61.25));
        Assert.Equal(stops[^1].Color, Expected(80.75));
        var least = Block(bitmap, Expected(61.25));
        var greatest = Block(bitmap, Expected(80.75));
        // Cells are a third of the plot wide and half of it tall: both blocks the same size, big enough to be cells.
        Assert.True(least.Width > 150 && least.Height > 100, $"the least value's cell is {least.Width}×{least.Height}");
        Assert.InRange(greatest.Width - least.Width, -1, 1);
        Assert.InRange(greatest.Height - least.Height, -1, 1);
        // Row 0 at the bottom, row 1 above it; column 2 two cells to the right of column 0.
        Assert.InRange(greatest.Left - (least.Left + 2 * least.Width), -2, 2);
        Assert.InRange(greatest.Top - (least.Top - least.Height), -2, 2);
        // The middle value (70.5, row 0 column 1), one cell right of the least, clear of its written value.
        var middle = bitmap.GetPixel(least.Left + least.Width * 3 / 2, least.Top + least.Height * 3 / 4);
        Assert.True(Near(middle, Expected(70.5)), $"{middle} at the middle cell, expected {Expected(70.5)}");
        Assert.False(Near(middle, Expected(61.25)) || Near(middle, Expected(80.75)));
        // The value is written in the dark least cell in white.
        Assert.Contains(Enumerable.Range(least.Left, least.Width).SelectMany(x => Enumerable.Range(least.Top, least.Height).Select(y => bitmap.GetPixel(x, y))),
            p => p == SKColors.White);
    }

    [Fact]
    public void BadGridsAndEmptyTitlesAreRefused()
    {
        string Refused(Action build) => Assert.Throws<DistillSharpException>(build).Message;
        Assert.Contains("row 'l2' has 2 values but there are 3 column labels",
            Refused(() => TrainingCharts.Heatmap([[1.0, 2, 3], [1.0, 2]], Columns, Rows, "t", "x", "y", "v")));
        Assert.Contains("3 rows of values but 2 row labels",
            Refused(() => TrainingCharts.Heatmap([[1.0, 2, 3], [1.0, 2, 3], [1.0, 2, 3]], Columns, Rows, "t", "x", "y", "v")));
        Assert.Contains("the title is empty", Refused(() => TrainingCharts.Heatmap(Grid, Columns, Rows, " ", "x", "y", "v")));
        Assert.Contains("the colour bar title is empty", Refused(() => TrainingCharts.Heatmap(Grid, Columns, Rows, "t", "x", "y", "")));
        Assert.Contains("labelled 'a'", Refused(() => TrainingCharts.Heatmap(Grid, ["a", "a", "b"], Rows, "t", "x", "y", "v")));
        Assert.Contains("no value is finite", Refused(() => TrainingCharts.Heatmap([[double.NaN]], ["a"], ["b"], "t", "x", "y", "v")));
    }

    /// <summary>The colourscale stops as the figure gives them to plotly.js: <c>[[position, colour], ...]</c>.</summary>
    private static (double Position, SKColor Color)[] Stops(JsonElement trace) =>
        trace.GetProperty("colorscale").EnumerateArray()
            .Select(s => (s[0].GetDouble(), ParseColor(s[1].GetString()!)))
            .ToArray();

    private static SKColor ParseColor(string text)
    {
        if (text.StartsWith('#'))
        {
            return SKColor.Parse(text);
        }
        var parts = text[(text.IndexOf('(') + 1)..text.IndexOf(')')].Split(',');
        byte C(int i) => (byte)Math.Round(double.Parse(parts[i], CultureInfo.InvariantCulture));
        return new SKColor(C(0), C(1), C(2));
    }

    /// <summary>Linear interpolation of each RGB channel between the two stops around <paramref name="t"/>, rounded.</summary>
    private static SKColor Interpolate((double Position, SKColor Color)[] stops, double t)
    {
        for (int k = 1; k < stops.Length; k++)
        {
            if (t <= stops[k].Position)
            {
                var (a, b) = (stops[k - 1], stops[k]);
                var f = (t - a.Position) / (b.Position - a.Position);
                byte Mix(byte x, byte y) => (byte)Math.Round(x + (y - x) * f);
                return new SKColor(Mix(a.Color.Red, b.Color.Red), Mix(a.Color.Green, b.Color.Green), Mix(a.Color.Blue, b.Color.Blue));
            }
        }
        return stops[^1].Color;
    }

    private static bool Near(SKColor a, SKColor b) =>
        Math.Abs(a.Red - b.Red) <= 1 && Math.Abs(a.Green - b.Green) <= 1 && Math.Abs(a.Blue - b.Blue) <= 1;

    /// <summary>
    /// The bounding box of the pixels of exactly <paramref name="color"/> whose row and column each hold more than 20
    /// of them: a cell, not the colour bar's few rows of that colour.
    /// </summary>
    private static SKRectI Block(SKBitmap bitmap, SKColor color)
    {
        var columns = new int[bitmap.Width];
        var rows = new int[bitmap.Height];
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                if (bitmap.GetPixel(x, y) == color)
                {
                    columns[x]++;
                    rows[y]++;
                }
            }
        }
        var xs = Enumerable.Range(0, bitmap.Width).Where(x => columns[x] > 20).ToList();
        var ys = Enumerable.Range(0, bitmap.Height).Where(y => rows[y] > 20).ToList();
        Assert.True(xs.Count > 0 && ys.Count > 0, $"no block of {color}");
        return new SKRectI(xs.Min(), ys.Min(), xs.Max() + 1, ys.Max() + 1);
    }
}
