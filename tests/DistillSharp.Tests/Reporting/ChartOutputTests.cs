using System.Buffers.Binary;
using System.Text.Json;
using DistillSharp.Reporting;
using DistillSharp.Training;
using Plotly.NET;
using SkiaSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace DistillSharp.Tests.Reporting;

public sealed class ChartOutputTests
{
    // The first two colours of the plotly template's colour cycle (plotly.py's "plotly" template, which Plotly.NET uses).
    private static readonly SKColor First = new(0x63, 0x6e, 0xfa);
    private static readonly SKColor Second = new(0xef, 0x55, 0x3b);
    private static readonly SKColor PlotBackground = new(0xe5, 0xec, 0xf6);

    private static EpochMetrics Epoch(int epoch, double top1) =>
        new(epoch, 0.1, new Dictionary<string, double> { ["ce"] = 1.0 / epoch }, 0, 0, 0, top1, 0, 1);

    private static readonly LabelledRun Teacher = new("teacher", [Epoch(1, 50.0), Epoch(2, 60.5), Epoch(3, 70.25)]);
    private static readonly LabelledRun Student = new("student", [Epoch(1, 40.0), Epoch(2, 45.0), Epoch(3, 44.0)]);

    [Fact]
    public void TheBundleHasThePlotlyFigureHtmlPngAndText()
    {
        var bundle = ChartOutput.Bundle(TrainingCharts.TestTop1([Teacher, Student]));
        Assert.Equal(
            new[] { "application/vnd.plotly.v1+json", "image/png", "text/html", "text/plain" },
            bundle.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Plotly chart (2 traces: teacher, student): Test top-1 accuracy after each epoch", bundle["text/plain"]);
    }

    [Fact]
    public void ThePlotlyJsonHasTheChartsTracesAndValuesInTheRenderersFormat()
    {
        var json = ChartOutput.Bundle(TrainingCharts.TestTop1([Teacher, Student]))[ChartOutput.PlotlyMimeType];
        using var document = JsonDocument.Parse(json);
        var figure = document.RootElement;
        // The format the JupyterLab and VS Code Plotly renderers read: {data, layout[, frames][, config]}.
        Assert.All(figure.EnumerateObject(), p => Assert.Contains(p.Name, new[] { "data", "layout", "frames", "config" }));
        Assert.Equal(JsonValueKind.Object, figure.GetProperty("config").ValueKind);
        var traces = figure.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, traces.Length);
        Assert.All(traces, t => Assert.Equal("scatter", t.GetProperty("type").GetString()));
        // The values given to the chart, not the ones Plotly.NET wrote elsewhere.
        foreach (var (trace, run) in traces.Zip(new[] { Teacher, Student }))
        {
            Assert.Equal(run.Label, trace.GetProperty("name").GetString());
            Assert.Equal(run.Epochs.Select(e => (double)e.Epoch), trace.GetProperty("x").EnumerateArray().Select(v => v.GetDouble()));
            Assert.Equal(run.Epochs.Select(e => e.TestTop1), trace.GetProperty("y").EnumerateArray().Select(v => v.GetDouble()));
        }
        var layout = figure.GetProperty("layout");
        Assert.Equal("Test top-1 accuracy after each epoch", layout.GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(TrainingCharts.EpochAxis, layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString());
        Assert.Equal(TrainingCharts.Top1Axis, layout.GetProperty("yaxis").GetProperty("title").GetProperty("text").GetString());
    }

    [Fact]
    public void ThePngDecodesAtTheLayoutsSizeAndShowsEveryTracesColour()
    {
        var bundle = ChartOutput.Bundle(TrainingCharts.TestTop1([Teacher, Student]));
        var png = Convert.FromBase64String(bundle[ChartOutput.PngMimeType]);
        // The PNG signature and the IHDR chunk's width and height, read by hand.
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a }, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal((900, 500), ((int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)), (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20))));

        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((900, 500), (bitmap.Width, bitmap.Height));
        Assert.True(Count(bitmap, First) > 30, $"{Count(bitmap, First)} pixels of the first trace's colour");
        Assert.True(Count(bitmap, Second) > 30, $"{Count(bitmap, Second)} pixels of the second trace's colour");
        Assert.True(Count(bitmap, PlotBackground) > 100_000, "the plot area's background");
        Assert.True(Count(bitmap, new SKColor(0x2a, 0x3f, 0x5f), tolerance: 0) > 300, "text in the template's font colour (title, ticks, legend)");
    }

    [Fact]
    public void GroupedBarsAreDrawnInEachTracesColourAtTheirHeights()
    {
        // Two bar traces over two categories, 1 and 3 tall, and 2 and 4: the taller bar of each trace is 3 and 2 times the shorter.
        var chart = CSharpChart.Combine(new[]
        {
            CSharpChart.Column<double, string, string>(new[] { 1.0, 3.0 }, Keys: new[] { "a", "b" }, Name: "one"),
            CSharpChart.Column<double, string, string>(new[] { 2.0, 4.0 }, Keys: new[] { "a", "b" }, Name: "two"),
        });
        var png = ChartOutput.Png(chart);
        Assert.NotNull(png);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((600, 600), (bitmap.Width, bitmap.Height));                             // plotly's size for a chart without one
        var one = Columns(bitmap, First);
        var two = Columns(bitmap, Second);
        Assert.Equal(2, one.Count);
        Assert.Equal(2, two.Count);
        Assert.Equal(3.0, (double)one[1].Height / one[0].Height, 1);
        Assert.Equal(2.0, (double)two[1].Height / two[0].Height, 1);
        Assert.True(one[0].X < two[0].X && two[0].X < one[1].X && one[1].X < two[1].X, "grouped: one, two | one, two");
        Assert.Equal(one[0].Bottom, two[1].Bottom);                                          // every bar stands on y = 0
    }

    [Fact]
    public void TheHtmlDrawsWithoutRequireJsAndEmbedsNeitherPlotlyJsNorAnotherLibrary()
    {
        var bundle = ChartOutput.Bundle(TrainingCharts.TestTop1([Teacher, Student]));
        var html = bundle[ChartOutput.HtmlMimeType];
        Assert.StartsWith("<div id=\"distillsharp-chart-", html);
        Assert.DoesNotContain("requirejs", html);                                         // Plotly.NET's require.js loader
        Assert.DoesNotContain("fsharpPlotlyRequire", html);
        // An AMD require is used only where the page itself has an AMD loader (then plotly.js defines a module, no global).
        var amd = html.IndexOf("typeof window.define === \"function\" && window.define.amd", StringComparison.Ordinal);
        Assert.True(amd > 0);
        Assert.True(html.IndexOf("window.require(", StringComparison.Ordinal) > amd, "no AMD require call before the AMD check");
        Assert.Contains("document.createElement(\"script\")", html);
        Assert.Contains($"var src = \"https://cdn.plot.ly/plotly-{Globals.PLOTLYJS_VERSION}.min.js\";", html);
        Assert.Contains("Plotly.newPlot(node, figure.data, figure.layout, figure.config)", html);
        Assert.DoesNotContain("Copyright 2012", html);                                     // plotly.js's banner: not embedded
        Assert.Contains($"<img src=\"data:image/png;base64,{bundle[ChartOutput.PngMimeType]}\" width=\"900\" height=\"500\"", html);
        Assert.True(html.Length < bundle[ChartOutput.PngMimeType].Length + 20_000, $"chart HTML is {html.Length} characters");
    }

    [Fact]
    public void TextInTheFigureCannotCloseTheScript()
    {
        var chart = TrainingCharts.AccuracyBars([new("</script><b>x</b>", 50)], "a </script> title");
        var html = ChartOutput.Bundle(chart)[ChartOutput.HtmlMimeType];
        var script = html[html.IndexOf("<script", StringComparison.Ordinal)..];
        Assert.Equal(1, CountOf(script, "</script>"));
        Assert.Contains("alt=\"a &lt;/script&gt; title (static image)\"", html);
    }

    [Fact]
    public void AChartTheRendererDoesNotDrawHasNoPngAndSaysSoOnce()
    {
        var said = new List<string>();
        var before = ChartOutput.Notice;
        ChartOutput.Notice = said.Add;
        try
        {
            var pie = CSharpChart.Pie<double, string, string>(new[] { 1.0, 2.0 }, Labels: new[] { "a", "b" });
            var first = ChartOutput.Bundle(pie);
            var second = ChartOutput.Bundle(pie);
            Assert.False(first.ContainsKey(ChartOutput.PngMimeType));
            Assert.DoesNotContain("<img", first[ChartOutput.HtmlMimeType]);
            Assert.Contains(ChartOutput.PlotlyMimeType, second.Keys);
            var notice = Assert.Single(said);
            Assert.Equal("DistillSharp: a chart with trace type pie has no static image (DistillSharp's PNG renderer draws lines, markers and grouped bars); it still draws where scripts run.", notice);
        }
        finally
        {
            ChartOutput.Notice = before;
        }
    }

    [Fact]
    public void FontsAreFoundByPathAndAMissingOneIsNamed()
    {
        var (none, why) = ChartFonts.Find(null, ["/nonexistent/font.ttf"], systemFamilies: false);
        Assert.Null(none);
        Assert.StartsWith("no sans-serif font was found", why);
        var notAFont = Path.GetTempFileName();
        try
        {
            var (chosen, reason) = ChartFonts.Find(notAFont, [], systemFamilies: false);
            Assert.Null(chosen);
            Assert.Equal($"DISTILL_CHART_FONT={notAFont} is not a font file that can be read", reason);
        }
        finally
        {
            File.Delete(notAFont);
        }
        const string dejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        if (File.Exists(dejaVu))
        {
            var (face, source) = ChartFonts.Find(null, ["/nonexistent/font.ttf", dejaVu], systemFamilies: false);
            Assert.Equal(("DejaVu Sans", dejaVu), (face?.FamilyName, source));
        }
    }

    [Fact]
    public void TickStepsFollowPlotlysRule()
    {
        // plotly: about length / 40 px (y) or / 80 px (x) steps, 4 to 9, plus one; the rough step rounded up past 2, 5 or 10 × 10^k.
        Assert.Equal(new double[] { 0, 20, 40, 60, 80, 100 }, ChartPng.Ticks(0, 100, 400, 40).Ticks);      // rough 10 → 20
        Assert.Equal(new double[] { 1, 2, 3, 4, 5 }, ChartPng.Ticks(0.75, 5.25, 620, 80).Ticks);          // rough 0.51 → 1
        Assert.Equal(new double[] { 0, 0.01, 0.02, 0.03, 0.04 }, ChartPng.Ticks(-0.002, 0.047, 320, 40).Ticks);
        Assert.Equal("0.05", ChartPng.Format(0.05, 2));
        Assert.Equal("\u22121.5", ChartPng.Format(-1.5, 1));                                               // a true minus sign
        Assert.Equal("0", ChartPng.Format(0, 3));
    }

    private static int Count(SKBitmap bitmap, SKColor color, int tolerance = 2)
    {
        int n = 0;
        foreach (var p in bitmap.Pixels)
        {
            if (Math.Abs(p.Red - color.Red) <= tolerance && Math.Abs(p.Green - color.Green) <= tolerance && Math.Abs(p.Blue - color.Blue) <= tolerance) n++;
        }
        return n;
    }

    /// <summary>
    /// Runs of columns with more than 20 pixels of <paramref name="color"/> (bars, not the 12-pixel legend swatch):
    /// each bar's left x, its height in pixels and its bottom row.
    /// </summary>
    private static List<(int X, int Height, int Bottom)> Columns(SKBitmap bitmap, SKColor color)
    {
        var bars = new List<(int, int, int)>();
        bool inside = false;
        for (int x = 0; x < bitmap.Width; x++)
        {
            var rows = Enumerable.Range(0, bitmap.Height).Where(y => bitmap.GetPixel(x, y) == color).ToList();
            if (rows.Count > 20 && !inside)
            {
                bars.Add((x, rows.Count, rows.Max()));
                inside = true;
            }
            else if (rows.Count <= 20)
            {
                inside = false;
            }
        }
        return bars;
    }

    private static int CountOf(string text, string part)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
