using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace DistillSharp.Reporting;

/// <summary>
/// What <see cref="ChartPng"/> draws, read from a chart's plotly figure JSON (<c>{"data": [...], "layout": {...}}</c>,
/// the same text plotly.js receives): the traces with their values and colours, the axes, the title and the legend,
/// each setting taken from the layout, else from the layout's template, else plotly.js's own default. Only what the
/// library's charts use is read: scatter traces (lines, markers) and vertical bars (grouped), on one x and one y axis,
/// linear or category; or one heatmap (category x and y, an explicit colourscale, text written through
/// <c>texttemplate = "%{text}"</c>, a colour bar). Anything else is a <see cref="NotSupportedException"/> naming it.
/// </summary>
internal sealed class ChartFigure
{
    /// <summary>plotly.js's own colour cycle, for a figure whose layout and template give none.</summary>
    private static readonly string[] PlotlyJsColorway =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private readonly JsonObject layout;
    private readonly JsonObject? templateLayout;
    private readonly JsonObject? templateData;

    private ChartFigure(JsonObject figure)
    {
        layout = figure["layout"] as JsonObject ?? new JsonObject();
        templateLayout = layout["template"]?["layout"] as JsonObject;
        templateData = layout["template"]?["data"] as JsonObject;
    }

    public int Width { get; private set; }
    public int Height { get; private set; }
    public string? Title { get; private set; }
    public double TitleX { get; private set; }
    public SKColor PaperColor { get; private set; }
    public SKColor PlotColor { get; private set; }
    public SKColor FontColor { get; private set; }
    public float FontSize { get; private set; }
    public bool ShowLegend { get; private set; }
    public double BarGap { get; private set; }
    public double BarGroupGap { get; private set; }
    public ChartAxis X { get; private set; } = null!;
    public ChartAxis Y { get; private set; } = null!;
    public IReadOnlyList<ChartTrace> Traces { get; private set; } = [];

    /// <summary>The traces drawn in the plot (visible ones; <c>legendonly</c> ones show only in the legend).</summary>
    public IEnumerable<ChartTrace> Drawn => Traces.Where(t => t.Visible);

    /// <summary>Reads a figure; throws <see cref="NotSupportedException"/> for what the PNG renderer does not draw.</summary>
    public static ChartFigure Parse(string figureJson)
    {
        if (JsonNode.Parse(figureJson) is not JsonObject root || root["data"] is not JsonArray data)
        {
            throw new NotSupportedException("the figure has no data array");
        }
        var figure = new ChartFigure(root);
        figure.Read(data);
        return figure;
    }

    private void Read(JsonArray data)
    {
        foreach (var key in layout.Select(p => p.Key))
        {
            if ((key.StartsWith("xaxis", StringComparison.Ordinal) || key.StartsWith("yaxis", StringComparison.Ordinal)) && key.Length > 5)
            {
                throw new NotSupportedException($"more than one axis ({key})");
            }
        }
        foreach (var key in new[] { "shapes", "annotations", "images", "grid", "sliders", "updatemenus" })
        {
            if (layout[key] is JsonArray { Count: > 0 } or JsonObject { Count: > 0 })
            {
                throw new NotSupportedException($"layout {key}");
            }
        }
        Width = (int)Math.Round(Number("width") ?? 700);
        Height = (int)Math.Round(Number("height") ?? 450);
        if (Width < 50 || Height < 50 || Width > 8000 || Height > 8000)
        {
            throw new NotSupportedException($"a size of {Width}×{Height} pixels");
        }
        Title = Text(Setting("title", "text")) ?? Text(Setting("title"));
        TitleX = Number(Setting("title", "x")) ?? 0.5;
        PaperColor = ChartColors.Parse(Text(Setting("paper_bgcolor"))) ?? SKColors.White;
        PlotColor = ChartColors.Parse(Text(Setting("plot_bgcolor"))) ?? SKColors.White;
        FontColor = ChartColors.Parse(Text(Setting("font", "color"))) ?? new SKColor(0x44, 0x44, 0x44);
        FontSize = (float)(Number(Setting("font", "size")) ?? 12);
        var barMode = Text(Setting("barmode")) ?? "group";
        if (barMode != "group")
        {
            throw new NotSupportedException($"barmode {barMode}");
        }
        BarGap = Number(Setting("bargap")) ?? 0.2;
        BarGroupGap = Number(Setting("bargroupgap")) ?? 0;

        var colorway = (Setting("colorway") as JsonArray)?.Select(c => ChartColors.Parse(Text(c))).OfType<SKColor>().ToArray() is { Length: > 0 } cw
            ? cw
            : PlotlyJsColorway.Select(c => ChartColors.Parse(c)!.Value).ToArray();
        var traces = new List<ChartTrace>();
        for (int i = 0; i < data.Count; i++)
        {
            traces.Add(ReadTrace(data[i] as JsonObject ?? throw new NotSupportedException($"trace {i} is not an object"), i, colorway[i % colorway.Length]));
        }
        if (traces.Count == 0)
        {
            throw new NotSupportedException("a figure without traces");
        }
        Traces = traces;

        var heatmap = traces.Any(t => t.Kind == ChartTraceKind.Heatmap);
        if (heatmap && traces.Count > 1)
        {
            throw new NotSupportedException("a heatmap together with other traces");
        }
        var category = traces.Any(t => t.Kind == ChartTraceKind.Bar || t.CategoryX is not null);
        X = ReadAxis("xaxis", category);
        Y = ReadAxis("yaxis", heatmap);
        if (X.Type != (category ? "category" : "linear") && X.Type != "-")
        {
            throw new NotSupportedException($"an x axis of type {X.Type}");
        }
        if (Y.Type != (heatmap ? "category" : "linear") && Y.Type != "-")
        {
            throw new NotSupportedException($"a y axis of type {Y.Type}");
        }
        if (category && traces.Any(t => t.CategoryX is null))
        {
            throw new NotSupportedException("numeric and category x values in one chart");
        }

        // plotly.js: a legend when two or more traces would show in it, or one trace asks for it.
        // Heatmaps have no legend entry (their colour bar says what the colours mean).
        var legendTraces = traces.Where(t => t.ShowLegend != false && t.Kind != ChartTraceKind.Heatmap).ToList();
        var explicitLegend = layout["showlegend"] is JsonValue sl && sl.TryGetValue(out bool shown) ? shown : (bool?)null;
        ShowLegend = explicitLegend ?? (legendTraces.Count >= 2 || legendTraces.Any(t => t.ShowLegend == true));
    }

    private ChartTrace ReadTrace(JsonObject trace, int index, SKColor cycled)
    {
        var type = Text(trace["type"]) ?? "scatter";
        var kind = type switch
        {
            "scatter" => ChartTraceKind.Scatter,
            "bar" => ChartTraceKind.Bar,
            "heatmap" => ChartTraceKind.Heatmap,
            _ => throw new NotSupportedException($"trace type {type}"),
        };
        var defaults = templateData?[type] is JsonArray { Count: > 0 } d ? d[0] as JsonObject : null;
        JsonNode? Get(params string[] path) => Walk(trace, path) ?? Walk(defaults, path);

        foreach (var key in new[] { "xaxis", "yaxis" })
        {
            if (Text(trace[key]) is { } axis && axis.Length > 1)
            {
                throw new NotSupportedException($"a trace on axis {axis}");
            }
        }
        if (kind == ChartTraceKind.Heatmap)
        {
            return ReadHeatmap(trace, index, Get);
        }
        if (kind == ChartTraceKind.Bar && Text(trace["orientation"]) is "h")
        {
            throw new NotSupportedException("horizontal bars");
        }
        if (kind == ChartTraceKind.Scatter && Text(trace["fill"]) is { } fill and not "none")
        {
            throw new NotSupportedException($"scatter fill {fill}");
        }
        foreach (var key in new[] { "base", "offset", "width", "xcalendar", "x0", "dx" })
        {
            if (trace[key] is not null)
            {
                throw new NotSupportedException($"{type} {key}");
            }
        }
        if (trace["error_x"] is JsonObject errorX && !(errorX["visible"] is JsonValue ex && ex.TryGetValue(out bool xOn) && !xOn))
        {
            throw new NotSupportedException($"{type} error_x");
        }

        var y = (trace["y"] as JsonArray ?? throw new NotSupportedException($"a {type} trace without y values"))
            .Select(ToNumber).ToArray();
        double?[] x;
        string[]? categories = null;
        if (trace["x"] is JsonArray xs)
        {
            if (xs.Any(v => v is JsonValue jv && jv.GetValueKind() == System.Text.Json.JsonValueKind.String) || kind == ChartTraceKind.Bar)
            {
                categories = xs.Select(v => v is null ? "" : Text(v) ?? v.ToJsonString()).ToArray();
                x = categories.Select(_ => (double?)null).ToArray();
            }
            else
            {
                x = xs.Select(ToNumber).ToArray();
            }
        }
        else if (kind == ChartTraceKind.Bar)
        {
            categories = y.Select((_, i) => i.ToString(CultureInfo.InvariantCulture)).ToArray();
            x = categories.Select(_ => (double?)null).ToArray();
        }
        else
        {
            x = y.Select((_, i) => (double?)i).ToArray();
        }

        var visible = trace["visible"] switch
        {
            JsonValue v when v.TryGetValue(out bool b) => b,
            JsonValue v when v.TryGetValue(out string? word) => word != "legendonly",
            _ => true,
        };
        var inLegend = trace["visible"] is not JsonValue vv || !vv.TryGetValue(out bool hidden) || hidden;
        var color = ChartColors.Parse(Text(Get("marker", "color"))) ?? ChartColors.Parse(Text(Get("line", "color"))) ?? cycled;
        if (Get("marker", "color") is JsonArray)
        {
            throw new NotSupportedException($"per-point marker colours in a {type} trace");
        }
        var mode = Text(trace["mode"]) ?? (y.Length < 20 ? "lines+markers" : "lines");
        double?[]? errors = null;
        bool errorsVisible = Get("error_y", "visible") is JsonValue ev && ev.TryGetValue(out bool evb) ? evb : trace["error_y"] is not null;
        if (trace["error_y"] is JsonObject error && errorsVisible)
        {
            var errorType = Text(error["type"]) ?? (error["array"] is not null ? "data" : "percent");
            if (errorType != "data" || error["arrayminus"] is not null || error["symmetric"] is JsonValue sym && sym.TryGetValue(out bool symmetric) && !symmetric)
            {
                throw new NotSupportedException($"error bars of type {errorType} or asymmetric ones");
            }
            errors = (error["array"] as JsonArray ?? []).Select(ToNumber).ToArray();
        }
        var text = trace["text"] switch
        {
            JsonArray a => a.Select(t => Text(t) ?? t?.ToJsonString() ?? "").ToArray(),
            JsonValue v when v.TryGetValue(out string? one) => y.Select(_ => one).ToArray(),
            _ => null,
        };
        var textPosition = Text(trace["textposition"]) ?? "auto";

        return new ChartTrace
        {
            Index = index,
            Kind = kind,
            Name = Text(trace["name"]) ?? $"trace {index}",
            ShowLegend = trace["showlegend"] is JsonValue s && s.TryGetValue(out bool show) ? show : null,
            Visible = visible,
            InLegend = inLegend,
            X = x,
            CategoryX = categories,
            Y = y,
            Lines = kind == ChartTraceKind.Scatter && mode.Contains("lines", StringComparison.Ordinal),
            Markers = kind == ChartTraceKind.Scatter && mode.Contains("markers", StringComparison.Ordinal),
            Color = color,
            LineWidth = (float)(Number(Get("line", "width")) ?? 2),
            MarkerSize = (float)(Number(Get("marker", "size")) ?? 6),
            OutlineColor = ChartColors.Parse(Text(Get("marker", "line", "color"))),
            OutlineWidth = (float)(Number(Get("marker", "line", "width")) ?? 0),
            ErrorY = errors,
            ErrorColor = ChartColors.Parse(Text(Get("error_y", "color"))) ?? FontColor,
            ErrorThickness = (float)(Number(Get("error_y", "thickness")) ?? 2),
            ErrorWidth = (float)(Number(Get("error_y", "width")) ?? 4),
            Text = text,
            TextPosition = textPosition,
        };
    }

    /// <summary>
    /// A heatmap trace: <c>z</c> as rows of values (row <c>i</c> at <c>y[i]</c>, entry <c>j</c> at <c>x[j]</c>),
    /// category <c>x</c> and <c>y</c> (their indices when absent), the colourscale as <c>[[position, colour], ...]</c>,
    /// <c>zmin</c>/<c>zmax</c> (else the least and greatest finite z, plotly's <c>zauto</c>), <c>text</c> rows written
    /// in the cells when <c>texttemplate</c> is <c>%{text}</c>, and the colour bar's title.
    /// </summary>
    private ChartTrace ReadHeatmap(JsonObject trace, int index, Func<string[], JsonNode?> get)
    {
        foreach (var key in new[] { "zsmooth", "transpose", "x0", "dx", "y0", "dy", "xtype", "ytype", "connectgaps" })
        {
            if (trace[key] is JsonValue v && !(v.TryGetValue(out bool on) && !on))
            {
                throw new NotSupportedException($"heatmap {key}");
            }
        }
        foreach (var key in new[] { "xgap", "ygap" })
        {
            if (Number(trace[key]) is { } gap && gap != 0)
            {
                throw new NotSupportedException($"heatmap {key}");
            }
        }
        if (trace["reversescale"] is JsonValue rs && rs.TryGetValue(out bool reversed) && reversed)
        {
            throw new NotSupportedException("heatmap reversescale");
        }
        var z = (trace["z"] as JsonArray ?? throw new NotSupportedException("a heatmap without z values"))
            .Select(row => (row as JsonArray ?? throw new NotSupportedException("a heatmap whose z is not rows of values")).Select(ToNumber).ToArray())
            .ToArray();
        var columns = z.Length == 0 ? 0 : z.Max(r => r.Length);
        string[] Categories(string axis, int count) => trace[axis] is JsonArray a
            ? a.Select(v => v is null ? "" : Text(v) ?? v.ToJsonString()).ToArray()
            : Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var x = Categories("x", columns);
        var y = Categories("y", z.Length);
        if (x.Length != columns || y.Length != z.Length || x.Distinct().Count() != x.Length || y.Distinct().Count() != y.Length)
        {
            throw new NotSupportedException("heatmap categories that are not one distinct label per row and column");
        }
        var scale = (get(["colorscale"]) as JsonArray ?? throw new NotSupportedException("a heatmap without an explicit colourscale"))
            .Select(stop => stop is JsonArray { Count: 2 } pair && ToNumber(pair[0]) is { } at && ChartColors.Parse(Text(pair[1])) is { } color
                ? (Position: at, Color: color)
                : throw new NotSupportedException($"a colourscale stop {stop?.ToJsonString()}"))
            .ToArray();
        if (scale.Length < 2 || scale[0].Position != 0 || scale[^1].Position != 1 || scale.Zip(scale.Skip(1)).Any(p => p.Second.Position < p.First.Position))
        {
            throw new NotSupportedException("a colourscale whose positions do not rise from 0 to 1");
        }
        var finite = z.SelectMany(r => r).OfType<double>().ToList();
        var zMin = Number(trace["zmin"]) ?? (finite.Count == 0 ? 0 : finite.Min());
        var zMax = Number(trace["zmax"]) ?? (finite.Count == 0 ? 1 : finite.Max());
        string[][]? cellText = null;
        if (Text(trace["texttemplate"]) is { Length: > 0 } template)
        {
            if (template != "%{text}")
            {
                throw new NotSupportedException($"heatmap texttemplate {template}");
            }
            cellText = (trace["text"] as JsonArray ?? [])
                .Select(row => row is JsonArray cells ? cells.Select(t => Text(t) ?? t?.ToJsonString() ?? "").ToArray() : [])
                .ToArray();
        }
        var showScale = trace["showscale"] is not JsonValue ss || !ss.TryGetValue(out bool scaleShown) || scaleShown;
        return new ChartTrace
        {
            Index = index,
            Kind = ChartTraceKind.Heatmap,
            Name = Text(trace["name"]) ?? $"trace {index}",
            ShowLegend = false,
            Visible = trace["visible"] is not JsonValue vis || !vis.TryGetValue(out bool visible) || visible,
            InLegend = false,
            CategoryX = x,
            CategoryY = y,
            Z = z,
            ZRange = (zMin, zMax),
            Colorscale = scale,
            CellText = cellText,
            ShowScale = showScale,
            ColorBarTitle = Text(get(["colorbar", "title", "text"])) ?? Text(get(["colorbar", "title"])),
            Color = scale[^1].Color,
        };
    }

    private ChartAxis ReadAxis(string name, bool category)
    {
        JsonNode? Get(params string[] path) => Setting([name, .. path]);
        var range = Get("range") as JsonArray;
        return new ChartAxis
        {
            Title = Text(Get("title", "text")) ?? Text(Get("title")),
            Type = Text(Get("type")) ?? "-",
            IsCategory = category,
            Range = range is { Count: 2 } && ToNumber(range[0]) is { } lo && ToNumber(range[1]) is { } hi ? (lo, hi) : null,
            // plotly draws no grid lines across category axes unless asked; linear axes have them.
            ShowGrid = Get("showgrid") is JsonValue g && g.TryGetValue(out bool grid) ? grid : !category,
            GridColor = ChartColors.Parse(Text(Get("gridcolor"))) ?? new SKColor(0xee, 0xee, 0xee),
            ZeroLine = !category && (Get("zeroline") is JsonValue z && z.TryGetValue(out bool zero) ? zero : true),
            ZeroLineColor = ChartColors.Parse(Text(Get("zerolinecolor"))) ?? new SKColor(0x44, 0x44, 0x44),
            ZeroLineWidth = (float)(Number(Get("zerolinewidth")) ?? 1),
            TickAngle = Number(Get("tickangle")),
        };
    }

    /// <summary>A layout setting: the layout's own, else its template's.</summary>
    private JsonNode? Setting(params string[] path) => Walk(layout, path) ?? Walk(templateLayout, path);

    private double? Number(params string[] path) => Number(Setting(path));

    private static JsonNode? Walk(JsonNode? node, IEnumerable<string> path)
    {
        foreach (var key in path)
        {
            node = (node as JsonObject)?[key];
        }
        return node;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static double? Number(JsonNode? node) => ToNumber(node);

    private static double? ToNumber(JsonNode? node)
    {
        if (node is not JsonValue v) return null;
        if (v.TryGetValue(out double d)) return double.IsFinite(d) ? d : null;
        if (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
        {
            return parsed;
        }
        return null;
    }
}

/// <summary>The kinds of trace <see cref="ChartPng"/> draws.</summary>
internal enum ChartTraceKind
{
    Scatter,
    Bar,
    Heatmap,
}

/// <summary>One trace of a <see cref="ChartFigure"/>.</summary>
internal sealed class ChartTrace
{
    public int Index { get; init; }
    public ChartTraceKind Kind { get; init; }
    public string Name { get; init; } = "";
    public bool? ShowLegend { get; init; }
    public bool Visible { get; init; }
    public bool InLegend { get; init; }
    public double?[] X { get; init; } = [];
    public string[]? CategoryX { get; init; }
    public double?[] Y { get; init; } = [];
    public bool Lines { get; init; }
    public bool Markers { get; init; }
    public SKColor Color { get; init; }
    public float LineWidth { get; init; }
    public float MarkerSize { get; init; }
    public SKColor? OutlineColor { get; init; }
    public float OutlineWidth { get; init; }
    public double?[]? ErrorY { get; init; }
    public SKColor ErrorColor { get; init; }
    public float ErrorThickness { get; init; }
    public float ErrorWidth { get; init; }
    public string[]? Text { get; init; }
    public string TextPosition { get; init; } = "auto";

    /// <summary>A heatmap's y categories, one per row of <see cref="Z"/>.</summary>
    public string[]? CategoryY { get; init; }

    /// <summary>A heatmap's values: row <c>i</c> at <see cref="CategoryY"/>[i], entry <c>j</c> at <see cref="CategoryX"/>[j].</summary>
    public double?[][]? Z { get; init; }

    /// <summary>The values at the colourscale's two ends.</summary>
    public (double Low, double High) ZRange { get; init; }

    /// <summary>A heatmap's colourscale stops, positions rising from 0 to 1.</summary>
    public (double Position, SKColor Color)[] Colorscale { get; init; } = [];

    /// <summary>The text written in each heatmap cell, by row, or null when none is written.</summary>
    public string[][]? CellText { get; init; }

    /// <summary>Whether the heatmap's colour bar is drawn.</summary>
    public bool ShowScale { get; init; }

    /// <summary>The colour bar's title.</summary>
    public string? ColorBarTitle { get; init; }

    /// <summary>
    /// The colour of <paramref name="value"/> on the colourscale, as plotly.js computes it: the value's position between
    /// the ends of <see cref="ZRange"/> (clamped to 0..1), then each RGB channel linearly between the two stops around
    /// it, rounded.
    /// </summary>
    public SKColor ColorOf(double value)
    {
        var (low, high) = ZRange;
        var t = high > low ? Math.Clamp((value - low) / (high - low), 0, 1) : 0.5;
        var upper = 1;
        while (upper < Colorscale.Length - 1 && Colorscale[upper].Position < t) upper++;
        var (p0, c0) = Colorscale[upper - 1];
        var (p1, c1) = Colorscale[upper];
        var f = p1 > p0 ? (t - p0) / (p1 - p0) : 1;
        byte Mix(byte a, byte b) => (byte)Math.Clamp(Math.Round(a + (b - a) * f), 0, 255);
        return new SKColor(Mix(c0.Red, c1.Red), Mix(c0.Green, c1.Green), Mix(c0.Blue, c1.Blue));
    }
}

/// <summary>One axis of a <see cref="ChartFigure"/>.</summary>
internal sealed class ChartAxis
{
    public string? Title { get; init; }
    public string Type { get; init; } = "-";
    public bool IsCategory { get; init; }
    public (double Low, double High)? Range { get; init; }
    public bool ShowGrid { get; init; }
    public SKColor GridColor { get; init; }
    public bool ZeroLine { get; init; }
    public SKColor ZeroLineColor { get; init; }
    public float ZeroLineWidth { get; init; }
    public double? TickAngle { get; init; }
}

/// <summary>CSS colours as plotly figures write them: <c>#rgb</c>, <c>#rrggbb</c>, <c>rgb(...)</c>, <c>rgba(...)</c> and a few names.</summary>
internal static class ChartColors
{
    private static readonly Dictionary<string, SKColor> Named = new(StringComparer.OrdinalIgnoreCase)
    {
        ["white"] = SKColors.White, ["black"] = SKColors.Black, ["red"] = SKColors.Red, ["green"] = new SKColor(0, 128, 0),
        ["blue"] = SKColors.Blue, ["gray"] = new SKColor(128, 128, 128), ["grey"] = new SKColor(128, 128, 128),
        ["orange"] = new SKColor(255, 165, 0), ["purple"] = new SKColor(128, 0, 128), ["transparent"] = SKColors.Transparent,
    };

    public static SKColor? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (text.StartsWith('#'))
        {
            var hex = text[1..];
            if (hex.Length == 3) hex = string.Concat(hex.Select(c => $"{c}{c}"));
            return hex.Length == 6 && uint.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb)
                ? new SKColor((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb)
                : null;
        }
        var open = text.IndexOf('(');
        if (open > 0 && text.EndsWith(')') && text[..open].Trim().ToLowerInvariant() is "rgb" or "rgba")
        {
            var parts = text[(open + 1)..^1].Split(',').Select(p => p.Trim()).ToArray();
            if (parts.Length is 3 or 4 && parts.Take(3).All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            {
                byte Channel(string p) => (byte)Math.Clamp(Math.Round(double.Parse(p, CultureInfo.InvariantCulture)), 0, 255);
                var alpha = parts.Length == 4 && double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var a) ? a : 1.0;
                return new SKColor(Channel(parts[0]), Channel(parts[1]), Channel(parts[2]), (byte)Math.Clamp(Math.Round(alpha * 255), 0, 255));
            }
            return null;
        }
        return Named.TryGetValue(text, out var named) ? named : null;
    }
}
