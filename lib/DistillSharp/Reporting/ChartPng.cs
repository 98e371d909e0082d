using System.Globalization;
using SkiaSharp;

namespace DistillSharp.Reporting;

/// <summary>
/// Draws a <see cref="ChartFigure"/> as a PNG of the figure's own size in pixels, laid out the way plotly.js lays
/// out the same figure: the title in the top margin, the plot area with its background, grid and zero lines, the
/// traces (lines with markers; grouped bars with their text and error bars; heatmap cells coloured on their
/// colourscale with their text), tick labels and axis titles, and the legend, or a heatmap's colour bar, to the right
/// of the plot. Margins grow to fit tick labels and the legend, as plotly's automargin does.
/// Tick positions follow plotly's rule (a 1, 2 or 5 step giving about one tick per 80 pixels on x and 40 on y).
/// </summary>
internal sealed class ChartPng
{
    private const float LegendItemHeight = 19;
    private const float LegendSymbolWidth = 40;
    private const float TitleStandoff = 15;
    private const float TickPad = 4;
    private const float ColorBarPad = 10;
    private const float ColorBarThickness = 30;

    private readonly ChartFigure figure;
    private readonly SKCanvas canvas;
    private readonly SKFont tickFont;
    private readonly SKFont axisTitleFont;
    private readonly SKFont titleFont;
    private readonly string[] categories;
    private readonly string[] yCategories;
    private readonly ChartTrace? heatmap;

    private float left, right, top, bottom;
    private double xLow, xHigh, yLow, yHigh;
    private double[] xTicks = [], yTicks = [], scaleTicks = [];
    private int scaleDecimals;
    private int xDecimals, yDecimals;
    private float xLabelAngle;

    private ChartPng(ChartFigure figure, SKCanvas canvas, SKTypeface typeface)
    {
        this.figure = figure;
        this.canvas = canvas;
        tickFont = new SKFont(typeface, figure.FontSize) { Subpixel = true, Edging = SKFontEdging.Antialias };
        axisTitleFont = new SKFont(typeface, (float)Math.Round(figure.FontSize * 1.2)) { Subpixel = true, Edging = SKFontEdging.Antialias };
        titleFont = new SKFont(typeface, (float)Math.Round(figure.FontSize * 1.4)) { Subpixel = true, Edging = SKFontEdging.Antialias };
        categories = figure.Traces.Where(t => t.CategoryX is not null).SelectMany(t => t.CategoryX!).Distinct().ToArray();
        heatmap = figure.Drawn.FirstOrDefault(t => t.Kind == ChartTraceKind.Heatmap);
        yCategories = heatmap?.CategoryY ?? [];
    }

    /// <summary>The figure as PNG bytes, <see cref="ChartFigure.Width"/> × <see cref="ChartFigure.Height"/> pixels.</summary>
    public static byte[] Render(ChartFigure figure, SKTypeface typeface)
    {
        var info = new SKImageInfo(figure.Width, figure.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException("Skia could not create a drawing surface");
        var png = new ChartPng(figure, surface.Canvas, typeface);
        try
        {
            png.Draw();
        }
        finally
        {
            png.tickFont.Dispose();
            png.axisTitleFont.Dispose();
            png.titleFont.Dispose();
        }
        surface.Canvas.Flush();
        using var image = surface.Snapshot();
        using var pixmap = image.PeekPixels();
        using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 9));
        return data.ToArray();
    }

    private float PlotWidth => right - left;
    private float PlotHeight => bottom - top;

    private IReadOnlyList<ChartTrace> LegendEntries =>
        figure.ShowLegend ? figure.Traces.Where(t => t.InLegend && t.ShowLegend != false).ToList() : [];

    private void Draw()
    {
        canvas.Clear(figure.PaperColor);
        Layout();

        using (var plot = Fill(figure.PlotColor))
        {
            canvas.DrawRect(SKRect.Create(left, top, PlotWidth, PlotHeight), plot);
        }
        DrawGrid();
        canvas.Save();
        canvas.ClipRect(SKRect.Create(left, top, PlotWidth, PlotHeight));
        DrawBars();
        DrawHeatmap();
        foreach (var trace in figure.Drawn.Where(t => t.Kind == ChartTraceKind.Scatter))
        {
            DrawScatter(trace);
        }
        canvas.Restore();
        DrawTickLabels();
        DrawTitles();
        DrawLegend();
        DrawColorBar();
    }

    // ---- layout ----

    private void Layout()
    {
        left = 80;
        right = figure.Width - 80;
        top = 100;
        bottom = figure.Height - 80;

        var legend = LegendEntries;
        if (legend.Count > 0)
        {
            var legendWidth = LegendSymbolWidth + legend.Max(t => Measure(tickFont, t.Name)) + 10;
            // The legend sits at x = 1.02 of the plot width; the right margin grows to hold it.
            var needed = legendWidth + 0.02f * (right - left) + 10;
            right = Math.Min(right, figure.Width - needed);
        }

        if (heatmap is { ShowScale: true })
        {
            // The colour bar sits at x = 1.02 of the plot width, 10 px in, 30 px thick, its tick labels and title beside it.
            var (zl, zh) = heatmap.ZRange;
            (scaleTicks, scaleDecimals) = Ticks(zl, zh, figure.Height - 200, 40);
            var labels = scaleTicks.Length == 0 ? 0 : scaleTicks.Max(v => Measure(tickFont, Format(v, scaleDecimals)));
            var barWidth = Math.Max(ColorBarPad + ColorBarThickness + TickPad + labels, ColorBarPad + (heatmap.ColorBarTitle is { } t ? Measure(tickFont, t) : 0));
            var needed = barWidth + 0.02f * (right - left) + 10;
            right = Math.Min(right, figure.Width - needed);
        }

        // Ticks depend on the plot size, and the margins on the tick labels: two passes settle them.
        for (int pass = 0; pass < 2; pass++)
        {
            ComputeRanges();
            var yLabelWidth = YLabelWidth();
            var neededLeft = yLabelWidth + TickPad + (figure.Y.Title is null ? 0 : TitleStandoff + axisTitleFont.Size) + 6;
            left = Math.Max(80, neededLeft);

            var xLabelHeight = XLabelExtent();
            var neededBottom = xLabelHeight + TickPad + (figure.X.Title is null ? 0 : TitleStandoff + axisTitleFont.Size) + 8;
            bottom = figure.Height - Math.Max(80, neededBottom);
        }
        if (PlotWidth < 20 || PlotHeight < 20)
        {
            throw new NotSupportedException("a plot area too small for its labels and legend");
        }
        ComputeRanges();
    }

    private void ComputeRanges()
    {
        var drawn = figure.Drawn.ToList();
        var hasBars = drawn.Any(t => t.Kind == ChartTraceKind.Bar);
        var hasMarkers = drawn.Any(t => t.Markers);

        if (figure.X.IsCategory)
        {
            (xLow, xHigh) = figure.X.Range ?? (-0.5, categories.Length - 0.5);
        }
        else
        {
            var xs = drawn.SelectMany(t => t.X.Zip(t.Y, (x, y) => y is null ? null : x)).OfType<double>().ToList();
            var (lo, hi) = xs.Count == 0 ? (-1.0, 6.0) : (xs.Min(), xs.Max());
            // plotly pads x by 5% only for traces with markers, text or error bars; y always.
            var xPadded = drawn.Any(t => t.Markers || t.Text is not null || t.ErrorY is not null);
            (xLow, xHigh) = figure.X.Range ?? Pad(lo, hi, xPadded ? 0.05 : 0, hasMarkers ? figure.Traces.Max(t => t.MarkerSize) / 2 + 1 : 0, PlotWidth);
        }

        if (figure.Y.IsCategory)
        {
            (yLow, yHigh) = figure.Y.Range ?? (-0.5, yCategories.Length - 0.5);
            yTicks = [];
            return;
        }

        var ys = new List<double>();
        foreach (var t in drawn)
        {
            for (int i = 0; i < t.Y.Length; i++)
            {
                if (t.Y[i] is not { } y) continue;
                var e = t.ErrorY is { } errors && i < errors.Length ? errors[i] ?? 0 : 0;
                ys.Add(y + e);
                ys.Add(y - e);
            }
        }
        var (yl, yh) = ys.Count == 0 ? (-1.0, 4.0) : (ys.Min(), ys.Max());
        if (hasBars)
        {
            yl = Math.Min(0, yl);
            yh = Math.Max(0, yh);
        }
        if (figure.Y.Range is { } yr)
        {
            (yLow, yHigh) = yr;
        }
        else if (hasBars && !drawn.Any(t => t.Kind == ChartTraceKind.Scatter))
        {
            // Bars grow from zero: plotly pads only the side away from zero.
            var span = yh - yl == 0 ? 1 : yh - yl;
            (yLow, yHigh) = (yl < 0 ? yl - 0.05 * span : yl, yh > 0 ? yh + 0.05 * span : yh);
            if (yLow == yHigh) (yLow, yHigh) = (yLow - 1, yHigh + 1);
        }
        else
        {
            (yLow, yHigh) = Pad(yl, yh, 0.05, hasMarkers ? figure.Traces.Max(t => t.MarkerSize) / 2 + 1 : 0, PlotHeight);
        }

        if (!figure.X.IsCategory)
        {
            (xTicks, xDecimals) = Ticks(xLow, xHigh, PlotWidth, 80);
        }
        (yTicks, yDecimals) = Ticks(yLow, yHigh, PlotHeight, 40);
    }

    /// <summary>A data range padded by a fraction of its span and by some pixels at each end.</summary>
    private static (double, double) Pad(double lo, double hi, double fraction, float pixels, float length)
    {
        if (hi == lo)
        {
            var d = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            return (lo - d, hi + d);
        }
        var span = hi - lo;
        var pad = span * fraction;
        if (pixels > 0 && length > 2 * pixels + 1)
        {
            pad += (span + 2 * pad) * pixels / (length - 2 * pixels);
        }
        return (lo - pad, hi + pad);
    }

    /// <summary>plotly's automatic ticks: about <c>length / pixelsPerTick</c> (4 to 9) steps of 1, 2 or 5 × 10^k.</summary>
    internal static (double[] Ticks, int Decimals) Ticks(double low, double high, float length, float pixelsPerTick)
    {
        var span = high - low;
        if (!(span > 0) || !double.IsFinite(span)) return ([], 0);
        var count = Math.Clamp(length / pixelsPerTick, 4, 9) + 1;
        var rough = span / count;
        var step = NiceStep(rough);
        var decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        var ticks = new List<double>();
        for (var k = Math.Ceiling(low / step - 1e-9); k * step <= high + step * 1e-9; k++)
        {
            var v = Math.Round(k * step, Math.Min(15, decimals + 1));
            ticks.Add(v == 0 ? 0 : v);
        }
        return (ticks.ToArray(), decimals);
    }

    /// <summary>
    /// A tick step as plotly rounds one: with <c>10^k ≤ rough &lt; 10^(k+1)</c>, the first of 2, 5 and 10 × 10^k above
    /// <paramref name="rough"/> (so a rough step of 1 × 10^k becomes 2 × 10^k).
    /// </summary>
    internal static double NiceStep(double rough)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var ratio = rough / power;
        var factor = ratio < 2 ? 2 : ratio < 5 ? 5 : 10;
        return factor * power;
    }

    /// <summary>A tick value as plotly writes it: the step's decimals, a true minus sign, exponents past 10^±6.</summary>
    internal static string Format(double value, int decimals)
    {
        if (value == 0) return "0";
        var magnitude = Math.Abs(value);
        string text = decimals > 6 || magnitude >= 1e7
            ? magnitude.ToString("0.##E+0", CultureInfo.InvariantCulture)
            : magnitude.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return value < 0 ? "\u2212" + text : text;
    }

    /// <summary>The height the x tick labels take below the plot, choosing their angle (0, 30 or 90 degrees) as plotly does.</summary>
    private float XLabelExtent()
    {
        var height = tickFont.Size * 1.25f;
        if (!figure.X.IsCategory)
        {
            xLabelAngle = 0;
            return height;
        }
        var band = categories.Length == 0 ? PlotWidth : PlotWidth / categories.Length;
        var widest = categories.Length == 0 ? 0 : categories.Max(c => Measure(tickFont, c));
        xLabelAngle = figure.X.TickAngle is { } fixedAngle ? (float)fixedAngle
            : widest <= band - 4 ? 0
            : height / Math.Sin(Math.PI / 6) <= band ? 30
            : 90;
        var radians = Math.Abs(xLabelAngle) * Math.PI / 180;
        return (float)(widest * Math.Sin(radians) + height * Math.Cos(radians));
    }

    /// <summary>The widest y tick label: a category's, or a tick value's.</summary>
    private float YLabelWidth() =>
        figure.Y.IsCategory
            ? (yCategories.Length == 0 ? 0 : yCategories.Max(c => Measure(tickFont, c)))
            : (yTicks.Length == 0 ? 0 : yTicks.Max(v => Measure(tickFont, Format(v, yDecimals))));

    private float XPixel(double x) => left + (float)((x - xLow) / (xHigh - xLow)) * PlotWidth;

    private float YPixel(double y) => bottom - (float)((y - yLow) / (yHigh - yLow)) * PlotHeight;

    private float CategoryPixel(string category) => XPixel(Array.IndexOf(categories, category));

    // ---- drawing ----

    private void DrawGrid()
    {
        using var grid = Stroke(figure.Y.GridColor, 1);
        if (figure.Y.ShowGrid)
        {
            foreach (var y in yTicks)
            {
                var p = Crisp(YPixel(y));
                canvas.DrawLine(left, p, right, p, grid);
            }
        }
        if (figure.X.ShowGrid)
        {
            using var xGrid = Stroke(figure.X.GridColor, 1);
            var positions = figure.X.IsCategory ? categories.Select(CategoryPixel) : xTicks.Select(XPixel);
            foreach (var x in positions)
            {
                var p = Crisp(x);
                canvas.DrawLine(p, top, p, bottom, xGrid);
            }
        }
        if (figure.Y.ZeroLine && yLow < 0 && yHigh > 0)
        {
            using var zero = Stroke(figure.Y.ZeroLineColor, figure.Y.ZeroLineWidth);
            var p = YPixel(0);
            canvas.DrawLine(left, p, right, p, zero);
        }
        if (figure.X.ZeroLine && !figure.X.IsCategory && xLow < 0 && xHigh > 0)
        {
            using var zero = Stroke(figure.X.ZeroLineColor, figure.X.ZeroLineWidth);
            var p = XPixel(0);
            canvas.DrawLine(p, top, p, bottom, zero);
        }
    }

    private void DrawBars()
    {
        var bars = figure.Drawn.Where(t => t.Kind == ChartTraceKind.Bar).ToList();
        if (bars.Count == 0) return;
        var band = PlotWidth / (float)(xHigh - xLow);
        var group = band * (float)(1 - figure.BarGap);
        var slot = group / bars.Count;
        var width = slot * (float)(1 - figure.BarGroupGap);
        var zero = YPixel(Math.Clamp(0, yLow, yHigh));
        for (int j = 0; j < bars.Count; j++)
        {
            var trace = bars[j];
            using var fill = Fill(trace.Color);
            for (int i = 0; i < trace.Y.Length && i < trace.CategoryX!.Length; i++)
            {
                if (trace.Y[i] is not { } value) continue;
                var center = CategoryPixel(trace.CategoryX[i]) - group / 2 + (j + 0.5f) * slot;
                var end = YPixel(value);
                var rect = new SKRect(center - width / 2, Math.Min(zero, end), center + width / 2, Math.Max(zero, end));
                canvas.DrawRect(rect, fill);
                if (trace.OutlineColor is { } outline && trace.OutlineWidth > 0)
                {
                    using var line = Stroke(outline, trace.OutlineWidth);
                    canvas.DrawRect(rect, line);
                }
                if (trace.Text is { } texts && i < texts.Length && texts[i].Length > 0 && trace.TextPosition != "none")
                {
                    DrawBarText(texts[i], rect, value >= 0, trace);
                }
                DrawError(trace, i, center, value);
            }
        }
    }

    /// <summary>
    /// The heatmap's cells: each a rectangle one category wide and tall, centred on its x and y category, filled with
    /// its value's colour (<see cref="ChartTrace.ColorOf"/>), its text centred in it in a contrasting colour; cells
    /// without a value are left empty, as plotly leaves them.
    /// </summary>
    private void DrawHeatmap()
    {
        if (heatmap?.Z is not { } z) return;
        var width = PlotWidth / (float)(xHigh - xLow);
        var height = PlotHeight / (float)(yHigh - yLow);
        for (int i = 0; i < z.Length; i++)
        {
            for (int j = 0; j < z[i].Length; j++)
            {
                if (z[i][j] is not { } value) continue;
                var x = CategoryPixel(heatmap.CategoryX![j]);
                var y = YPixel(i);
                var color = heatmap.ColorOf(value);
                using (var fill = new SKPaint { Color = color, IsAntialias = false, Style = SKPaintStyle.Fill })
                {
                    canvas.DrawRect(new SKRect(x - width / 2, y - height / 2, x + width / 2, y + height / 2), fill);
                }
                if (heatmap.CellText is { } texts && i < texts.Length && j < texts[i].Length && texts[i][j].Length > 0)
                {
                    using var paint = Fill(Contrasting(color));
                    canvas.DrawText(texts[i][j], x - Measure(tickFont, texts[i][j]) / 2, y + tickFont.Size * 0.35f, tickFont, paint);
                }
            }
        }
    }

    /// <summary>
    /// The heatmap's colour bar at x = 1.02 of the plot: its title on top, then the colourscale from the greatest value
    /// (top) to the least (bottom), the tick values to its right.
    /// </summary>
    private void DrawColorBar()
    {
        if (heatmap is not { ShowScale: true } trace) return;
        var x0 = right + 0.02f * PlotWidth + ColorBarPad;
        var barTop = top + ColorBarPad;
        using var text = Fill(figure.FontColor);
        if (trace.ColorBarTitle is { Length: > 0 } title)
        {
            canvas.DrawText(title, x0 - ColorBarPad / 2, barTop + tickFont.Size * 0.8f, tickFont, text);
            barTop += tickFont.Size * 1.6f;
        }
        var barBottom = bottom - ColorBarPad;
        if (barBottom - barTop < 10) return;
        var (low, high) = trace.ZRange;
        for (var py = (int)MathF.Floor(barTop); py < (int)MathF.Ceiling(barBottom); py++)
        {
            var f = (barBottom - (py + 0.5f)) / (barBottom - barTop);
            using var fill = new SKPaint { Color = trace.ColorOf(low + (high - low) * f), IsAntialias = false, Style = SKPaintStyle.Fill };
            canvas.DrawRect(new SKRect(x0, Math.Max(py, barTop), x0 + ColorBarThickness, Math.Min(py + 1, barBottom)), fill);
        }
        if (high <= low) return;
        foreach (var v in scaleTicks)
        {
            var y = barBottom - (float)((v - low) / (high - low)) * (barBottom - barTop);
            canvas.DrawText(Format(v, scaleDecimals), x0 + ColorBarThickness + TickPad, y + tickFont.Size * 0.35f, tickFont, text);
        }
    }

    /// <summary>A bar's text: inside at its end when it fits (plotly's <c>auto</c>), else just beyond the end.</summary>
    private void DrawBarText(string text, SKRect bar, bool up, ChartTrace trace)
    {
        var width = Measure(tickFont, text);
        var height = tickFont.Size;
        var fitsInside = width + 6 <= bar.Width && height + 6 <= bar.Height;
        var inside = trace.TextPosition == "inside" || (trace.TextPosition == "auto" && fitsInside);
        var color = inside ? Contrasting(trace.Color) : figure.FontColor;
        var baseline = inside
            ? (up ? bar.Top + 3 + height * 0.8f : bar.Bottom - 3 - height * 0.2f)
            : (up ? bar.Top - 3 - height * 0.2f : bar.Bottom + 3 + height * 0.8f);
        using var paint = Fill(color);
        canvas.DrawText(text, bar.MidX - width / 2, baseline, tickFont, paint);
    }

    /// <summary>Text over a fill: white on dark colours, the figure's font colour on light ones (as plotly picks).</summary>
    private SKColor Contrasting(SKColor fill)
    {
        var luminance = (0.299 * fill.Red + 0.587 * fill.Green + 0.114 * fill.Blue) / 255;
        return luminance < 0.5 ? SKColors.White : figure.FontColor;
    }

    private void DrawError(ChartTrace trace, int i, float x, double value)
    {
        if (trace.ErrorY is not { } errors || i >= errors.Length || errors[i] is not { } e) return;
        using var paint = Stroke(trace.ErrorColor, trace.ErrorThickness);
        var high = YPixel(value + e);
        var low = YPixel(value - e);
        canvas.DrawLine(x, high, x, low, paint);
        canvas.DrawLine(x - trace.ErrorWidth, high, x + trace.ErrorWidth, high, paint);
        canvas.DrawLine(x - trace.ErrorWidth, low, x + trace.ErrorWidth, low, paint);
    }

    private void DrawScatter(ChartTrace trace)
    {
        var points = new List<SKPoint?>();
        for (int i = 0; i < trace.Y.Length; i++)
        {
            double? x = trace.CategoryX is { } cats ? (i < cats.Length ? Array.IndexOf(categories, cats[i]) : null) : (i < trace.X.Length ? trace.X[i] : null);
            points.Add(x is { } px && trace.Y[i] is { } py ? new SKPoint(XPixel(px), YPixel(py)) : null);
        }
        if (trace.Lines)
        {
            using var line = Stroke(trace.Color, trace.LineWidth);
            line.StrokeJoin = SKStrokeJoin.Round;
            line.StrokeCap = SKStrokeCap.Round;
            using var path = new SKPath();
            var open = false;
            foreach (var p in points)
            {
                if (p is not { } point)
                {
                    open = false;                                  // a gap: plotly does not connect across missing values
                    continue;
                }
                if (open) path.LineTo(point);
                else path.MoveTo(point);
                open = true;
            }
            canvas.DrawPath(path, line);
        }
        for (int i = 0; i < points.Count; i++)
        {
            if (points[i] is { } p)
            {
                DrawError(trace, i, p.X, trace.Y[i]!.Value);
            }
        }
        if (trace.Markers)
        {
            using var marker = Fill(trace.Color);
            foreach (var p in points.OfType<SKPoint>())
            {
                canvas.DrawCircle(p, trace.MarkerSize / 2, marker);
            }
        }
    }

    private void DrawTickLabels()
    {
        using var paint = Fill(figure.FontColor);
        foreach (var (category, i) in yCategories.Select((c, i) => (c, i)))
        {
            canvas.DrawText(category, left - TickPad - Measure(tickFont, category), YPixel(i) + tickFont.Size * 0.35f, tickFont, paint);
        }
        foreach (var y in yTicks)
        {
            var text = Format(y, yDecimals);
            canvas.DrawText(text, left - TickPad - Measure(tickFont, text), YPixel(y) + tickFont.Size * 0.35f, tickFont, paint);
        }
        var labels = figure.X.IsCategory
            ? categories.Select(c => (Text: c, X: CategoryPixel(c)))
            : xTicks.Select(x => (Text: Format(x, xDecimals), X: XPixel(x)));
        foreach (var (text, x) in labels)
        {
            var width = Measure(tickFont, text);
            if (xLabelAngle == 0)
            {
                canvas.DrawText(text, x - width / 2, bottom + tickFont.Size, tickFont, paint);
                continue;
            }
            // Rotated labels end at their tick and slant down to the left.
            canvas.Save();
            canvas.Translate(x + tickFont.Size * 0.3f, bottom + TickPad + tickFont.Size * 0.2f);
            canvas.RotateDegrees(-xLabelAngle);
            canvas.DrawText(text, -width, tickFont.Size * 0.7f, tickFont, paint);
            canvas.Restore();
        }
    }

    private void DrawTitles()
    {
        using var paint = Fill(figure.FontColor);
        if (figure.Title is { Length: > 0 } title)
        {
            var width = Measure(titleFont, title);
            var anchor = (float)(figure.TitleX * figure.Width);
            var x = figure.TitleX < 1.0 / 3 ? anchor : figure.TitleX > 2.0 / 3 ? anchor - width : anchor - width / 2;
            canvas.DrawText(title, x, top / 2, titleFont, paint);
        }
        if (figure.X.Title is { Length: > 0 } xTitle)
        {
            var width = Measure(axisTitleFont, xTitle);
            var y = bottom + XLabelExtent() + TitleStandoff + axisTitleFont.Size * 0.8f;
            canvas.DrawText(xTitle, left + PlotWidth / 2 - width / 2, y, axisTitleFont, paint);
        }
        if (figure.Y.Title is { Length: > 0 } yTitle)
        {
            var width = Measure(axisTitleFont, yTitle);
            var x = left - TickPad - YLabelWidth() - TitleStandoff - 5;
            canvas.Save();
            canvas.Translate(x, top + PlotHeight / 2);
            canvas.RotateDegrees(-90);
            canvas.DrawText(yTitle, -width / 2, 0, axisTitleFont, paint);
            canvas.Restore();
        }
    }

    private void DrawLegend()
    {
        var entries = LegendEntries;
        if (entries.Count == 0) return;
        var x0 = right + 0.02f * PlotWidth;
        var y0 = top;
        using var text = Fill(figure.FontColor);
        for (int i = 0; i < entries.Count; i++)
        {
            var trace = entries[i];
            var center = y0 + 14.5f + i * LegendItemHeight;
            var dim = !trace.Visible;                              // legendonly: plotly greys the entry
            var color = dim ? trace.Color.WithAlpha(128) : trace.Color;
            if (trace.Kind == ChartTraceKind.Bar)
            {
                using var fill = Fill(color);
                canvas.DrawRect(new SKRect(x0 + 14, center - 6, x0 + 26, center + 6), fill);
            }
            else
            {
                if (trace.Lines)
                {
                    using var line = Stroke(color, Math.Min(trace.LineWidth, 5));
                    canvas.DrawLine(x0 + 5, center, x0 + 35, center, line);
                }
                if (trace.Markers)
                {
                    using var marker = Fill(color);
                    canvas.DrawCircle(x0 + 20, center, Math.Min(trace.MarkerSize / 2, 8), marker);
                }
            }
            using var label = Fill(dim ? figure.FontColor.WithAlpha(128) : figure.FontColor);
            canvas.DrawText(trace.Name, x0 + LegendSymbolWidth, center + tickFont.Size * 0.35f, tickFont, label);
        }
    }

    private static float Measure(SKFont font, string text)
    {
        using var paint = new SKPaint { Typeface = font.Typeface, TextSize = font.Size, SubpixelText = true, IsAntialias = true };
        return paint.MeasureText(text);
    }

    /// <summary>A 1-pixel line's coordinate on a pixel centre, so it is drawn sharp.</summary>
    private static float Crisp(float p) => MathF.Floor(p) + 0.5f;

    private static SKPaint Fill(SKColor color) => new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };

    private static SKPaint Stroke(SKColor color, float width) =>
        new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = width };
}
