using System.Text.Json;
using DistillSharp.Reporting;
using SkiaSharp;
using static DistillSharp.Tests.Reporting.ChartJson;

namespace DistillSharp.Tests.Reporting;

public sealed class TransportChartTests
{
    private static readonly (double X, double Y)[] Source = [(0, 0), (0, 1), (0, 2)];
    private static readonly (double X, double Y)[] Target = [(2, 0), (2, 1), (2, 2)];

    // Largest mass 0.3; 0.003 is 1% of it (below the 2% threshold) and the zeros carry nothing: six segments drawn.
    private static readonly double[][] Plan = [[0.3, 0.03, 0], [0, 0.2, 0.1], [0.003, 0.1, 0.2]];

    [Fact]
    public void BothCloudsAndOneSegmentPerMassAboveTheThresholdAreDrawnWithWidthsByMass()
    {
        var chart = TrainingCharts.TransportPlan(Source, Target, Plan, "plan", "x (units)", "y (units)", "teacher", "student");
        var traces = Traces(chart);
        Assert.Equal("teacher", traces[0].GetProperty("name").GetString());
        Assert.Equal("student", traces[1].GetProperty("name").GetString());
        Assert.Equal(Source.Select(p => p.X), traces[0].GetProperty("x").Doubles());
        Assert.Equal(Source.Select(p => p.Y), traces[0].GetProperty("y").Doubles());
        Assert.Equal(Target.Select(p => p.X), traces[1].GetProperty("x").Doubles());
        Assert.Equal(Target.Select(p => p.Y), traces[1].GetProperty("y").Doubles());
        Assert.All(traces.Take(2), t => Assert.Equal("markers", t.GetProperty("mode").GetString()));

        // Expected by hand: (i, j) → width 1 + 5 · π_ij / 0.3.
        var expected = new Dictionary<(double, double), double>
        {
            [(0, 0)] = 6, [(0, 1)] = 1.5, [(1, 1)] = 1 + 5 * 0.2 / 0.3, [(1, 2)] = 1 + 5 * 0.1 / 0.3,
            [(2, 1)] = 1 + 5 * 0.1 / 0.3, [(2, 2)] = 1 + 5 * 0.2 / 0.3,
        };
        var segments = traces.Skip(2).ToArray();
        Assert.Equal(expected.Count, segments.Length);
        var drawn = segments.ToDictionary(
            s => (s.GetProperty("y").Doubles()[0], s.GetProperty("y").Doubles()[1]),
            s => s.GetProperty("line").GetProperty("width").GetDouble());
        Assert.All(segments, s => Assert.Equal(new[] { 0.0, 2.0 }, s.GetProperty("x").Doubles()));
        Assert.Equal(expected.Keys.OrderBy(k => k), drawn.Keys.OrderBy(k => k));
        foreach (var (pair, width) in expected)
        {
            Assert.Equal(width, drawn[pair], 3);
        }
        // One legend entry for all segments, in the transport colour.
        Assert.Single(segments, s => s.TryGetProperty("showlegend", out var shown) && shown.GetBoolean());
        Assert.All(segments, s => Assert.Equal(SKColor.Parse(TrainingCharts.TransportColor), ChartColors.Parse(s.GetProperty("line").GetProperty("color").GetString())));
        Assert.Equal("plan", Title(chart));
        Assert.Equal("x (units)", AxisTitle(chart, "xaxis"));
    }

    [Fact]
    public void ThePngDrawsTheHeavierSegmentThickerAndWhereItsPointsAre()
    {
        // Two horizontal segments: the lower (y = 0) carries ten times the upper's mass.
        var chart = TrainingCharts.TransportPlan([(0, 0), (0, 1)], [(1, 0), (1, 1)], [[0.5, 0], [0, 0.05]], "two segments", "x", "y");
        var png = ChartOutput.Png(chart);
        Assert.NotNull(png);
        using var bitmap = SKBitmap.Decode(png);
        // A segment's pixels: neutral grey, darker than the light plot background (anti-aliased edges are lighter greys).
        bool IsGrey(SKColor c) => c.Red < 215 && Math.Abs(c.Red - c.Green) <= 12 && Math.Abs(c.Green - c.Blue) <= 12;
        // The column through the middle of the plot: runs of grey pixels from top to bottom.
        int x = bitmap.Width / 2;
        var runs = new List<(int Start, int Length)>();
        for (int y = 0; y < bitmap.Height; y++)
        {
            if (!IsGrey(bitmap.GetPixel(x, y))) continue;
            if (runs.Count > 0 && runs[^1].Start + runs[^1].Length == y) runs[^1] = (runs[^1].Start, runs[^1].Length + 1);
            else runs.Add((y, 1));
        }
        Assert.Equal(2, runs.Count);
        var (upper, lower) = (runs[0], runs[1]);   // pixel rows grow downwards: the upper run is the y = 1 segment
        Assert.True(lower.Length >= upper.Length + 3, $"the heavier segment is {lower.Length} px thick, the lighter {upper.Length} px");
        Assert.InRange(lower.Length, 5, 8);        // 6 px drawn
        Assert.InRange(upper.Length, 1, 3);        // 1.5 px drawn
    }

    [Fact]
    public void BadPlansAndEmptyTitlesAreRefused()
    {
        string Refused(Action build) => Assert.Throws<DistillSharpException>(build).Message;
        Assert.Contains("must be 3 × 3", Refused(() => TrainingCharts.TransportPlan(Source, Target, [[1.0, 0, 0], [0, 1.0, 0]], "t", "x", "y")));
        Assert.Contains("finite and non-negative", Refused(() => TrainingCharts.TransportPlan(Source, Target, [[1.0, 0, 0], [0, -1.0, 0], [0, 0, 1.0]], "t", "x", "y")));
        Assert.Contains("moves no mass", Refused(() => TrainingCharts.TransportPlan(Source, Target, [[0.0, 0, 0], [0, 0, 0], [0, 0, 0]], "t", "x", "y")));
        Assert.Contains("threshold", Refused(() => TrainingCharts.TransportPlan(Source, Target, Plan, "t", "x", "y", threshold: 1)));
        Assert.Contains("the y-axis title is empty", Refused(() => TrainingCharts.TransportPlan(Source, Target, Plan, "t", "x", " ")));
        Assert.Contains("at least one point", Refused(() => TrainingCharts.TransportPlan([], Target, [], "t", "x", "y")));
    }
}
