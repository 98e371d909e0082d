using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Plotly.NET;
using SkiaSharp;

namespace DistillSharp.Reporting;

/// <summary>
/// A chart as a notebook output: one MIME bundle with three drawings of the same figure, so that it shows wherever
/// the notebook is read.
/// <list type="bullet">
/// <item><c>application/vnd.plotly.v1+json</c> — the figure, <c>{"data": [...], "layout": {...}, "config": {...}}</c>,
/// which the Plotly renderers built into JupyterLab and VS Code draw (JupyterLab's shows the bundle's PNG until the
/// pointer enters the chart, then draws it interactively).</item>
/// <item><c>text/html</c> — a <c>div</c> holding the static image, and a script that loads plotly.js with a plain
/// <c>&lt;script src&gt;</c> when <c>window.Plotly</c> is absent (through the page's AMD loader when it has one, as
/// the classic Notebook does, since plotly.js then registers as a module instead) and replaces the image with the
/// interactive chart. plotly.js comes from <see cref="PlotlyJsUrl"/> (the version Plotly.NET targets) and is never
/// embedded, which keeps notebooks small; offline, the static image stays. The image inside the HTML is what
/// viewers that prefer <c>text/html</c> but run no scripts show (nbconvert's HTML, nbviewer, a page with scripts
/// blocked).</item>
/// <item><c>image/png</c> — the static image (<see cref="Png(GenericChart)"/>), for viewers that show images only,
/// PDF exports and the Plotly renderer's placeholder.</item>
/// <item><c>text/plain</c> — the title and trace names.</item>
/// </list>
/// When the static image cannot be drawn (no font on the machine, SkiaSharp's native library missing, a chart kind
/// the PNG renderer does not draw) the bundle has no <c>image/png</c>, the HTML has no image, and the reason is
/// written once per process to <see cref="Console.Error"/> (a notebook cell's error stream).
/// </summary>
public static class ChartOutput
{
    /// <summary>The MIME type of a plotly figure (data, layout, config).</summary>
    public const string PlotlyMimeType = "application/vnd.plotly.v1+json";

    /// <summary>The MIME type of the HTML drawing.</summary>
    public const string HtmlMimeType = "text/html";

    /// <summary>The MIME type of the static image (base64 in a notebook, as nbformat stores images).</summary>
    public const string PngMimeType = "image/png";

    /// <summary>The MIME type of the text description.</summary>
    public const string PlainTextMimeType = "text/plain";

    private static readonly ConcurrentDictionary<string, bool> Said = new(StringComparer.Ordinal);
    private static readonly object NativeGate = new();
    private static string? nativeProblem;
    private static bool nativeChecked;
    private static long sequence;

    static ChartOutput() => SkiaNativeResolver.Install();

    /// <summary>Where the HTML loads plotly.js from when the page has none: the plotly CDN, at the version Plotly.NET targets.</summary>
    public static string PlotlyJsUrl { get; } = $"https://cdn.plot.ly/plotly-{Globals.PLOTLYJS_VERSION}.min.js";

    /// <summary>Receives the one-time notices (a static image left out, and why); by default <see cref="Console.Error"/>.</summary>
    internal static Action<string> Notice { get; set; } = message => Console.Error.WriteLine(message);

    /// <summary>The chart's MIME bundle: MIME type to text (the PNG as base64), see the class remarks.</summary>
    public static IReadOnlyDictionary<string, string> Bundle(GenericChart chart) => Bundle(chart, PlotlyJsUrl);

    /// <summary>The chart's MIME bundle, its HTML loading plotly.js from <paramref name="plotlyJsUrl"/> when the page has none.</summary>
    public static IReadOnlyDictionary<string, string> Bundle(GenericChart chart, string plotlyJsUrl)
    {
        ArgumentNullException.ThrowIfNull(chart);
        ArgumentException.ThrowIfNullOrEmpty(plotlyJsUrl);
        var json = FigureJson(chart);
        var png = Png(json);
        var base64 = png is null ? null : Convert.ToBase64String(png);
        var bundle = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PlotlyMimeType] = json,
            [HtmlMimeType] = Html(json, base64, plotlyJsUrl),
            [PlainTextMimeType] = PlainText(json),
        };
        if (base64 is not null)
        {
            bundle[PngMimeType] = base64;
        }
        return bundle;
    }

    /// <summary>The chart's plotly figure: <c>{"data": [...], "layout": {...}, "config": {...}}</c>, as plotly.js takes it.</summary>
    public static string FigureJson(GenericChart chart) => GenericChart.toJson(chart);

    /// <summary>The chart's static image as PNG bytes at the layout's size, or null when it cannot be drawn here (said once).</summary>
    public static byte[]? Png(GenericChart chart) => Png(FigureJson(chart));

    /// <summary>A plotly figure's (<see cref="FigureJson"/>) static image as PNG bytes, or null when it cannot be drawn here (said once).</summary>
    public static byte[]? Png(string figureJson)
    {
        if (NativeProblem() is { } native)
        {
            SayOnce($"DistillSharp: static images of charts are left out: {native}. The charts still draw where scripts run (Jupyter, VS Code).");
            return null;
        }
        if (ChartFonts.Typeface is not { } typeface)
        {
            SayOnce($"DistillSharp: static images of charts are left out: {ChartFonts.Source}. The charts still draw where scripts run (Jupyter, VS Code).");
            return null;
        }
        ChartFigure figure;
        try
        {
            figure = ChartFigure.Parse(figureJson);
        }
        catch (NotSupportedException e)
        {
            SayOnce($"DistillSharp: a chart with {e.Message} has no static image (DistillSharp's PNG renderer draws lines, markers and grouped bars); it still draws where scripts run.");
            return null;
        }
        try
        {
            return ChartPng.Render(figure, typeface);
        }
        catch (NotSupportedException e)
        {
            SayOnce($"DistillSharp: a chart with {e.Message} has no static image; it still draws where scripts run.");
            return null;
        }
    }

    /// <summary>The chart's HTML drawing (see the class remarks), with its static image when one can be drawn.</summary>
    public static string Html(GenericChart chart)
    {
        var json = FigureJson(chart);
        return Html(json, Png(json) is { } png ? Convert.ToBase64String(png) : null, PlotlyJsUrl);
    }

    /// <summary>
    /// The HTML drawing of a plotly figure: a <c>div</c> with the static image (<paramref name="pngBase64"/>, or none)
    /// and a script that loads plotly.js from <paramref name="plotlyJsUrl"/> when the page has none, then draws.
    /// </summary>
    public static string Html(string figureJson, string? pngBase64, string plotlyJsUrl)
    {
        var id = "distillsharp-chart-" + Id(figureJson);
        // Inside a script element, "<" only ever appears in JSON strings: writing it as \u003c keeps "</script>" out.
        var figure = figureJson.Replace("<", "\\u003c", StringComparison.Ordinal);
        var html = new StringBuilder();
        html.Append("<div id=\"").Append(id).Append("\" class=\"distillsharp-chart\">");
        if (pngBase64 is not null)
        {
            var (width, height, title) = SizeAndTitle(figureJson);
            html.Append("<img src=\"data:image/png;base64,").Append(pngBase64).Append('"')
                .Append(" width=\"").Append(width).Append("\" height=\"").Append(height).Append('"')
                .Append(" alt=\"").Append(WebUtility.HtmlEncode(title ?? "chart")).Append(" (static image)\"")
                .Append(" style=\"max-width: 100%; height: auto;\">");
        }
        html.Append("</div>\n");
        html.Append("<script type=\"text/javascript\">\n");
        html.Append("(function () {\n");
        html.Append("  var id = \"").Append(id).Append("\";\n");
        html.Append("  var src = ").Append(JsonValue.Create(plotlyJsUrl)!.ToJsonString().Replace("<", "\\u003c", StringComparison.Ordinal)).Append(";\n");
        html.Append("  var figure = ").Append(figure).Append(";\n");
        html.Append(Script);
        html.Append("})();\n");
        html.Append("</script>\n");
        return html.ToString();
    }

    /// <summary>The chart's text: <c>Plotly chart (2 traces: a, b): title</c>.</summary>
    public static string PlainText(GenericChart chart) => PlainText(FigureJson(chart));

    private static string PlainText(string figureJson)
    {
        var root = JsonNode.Parse(figureJson);
        var names = (root?["data"] as JsonArray ?? []).Select((t, i) => t?["name"] is JsonValue v && v.TryGetValue(out string? n) ? n : $"trace {i}").ToList();
        var (_, _, title) = SizeAndTitle(figureJson);
        var text = $"Plotly chart ({names.Count} trace{(names.Count == 1 ? "" : "s")}: {string.Join(", ", names)})";
        return title is null ? text : $"{text}: {title}";
    }

    /// <summary>
    /// The script after <c>id</c>, <c>src</c> and <c>figure</c>: draw with the page's plotly.js; else load it through the
    /// page's AMD loader (where plotly.js defines a module and sets no global) or a plain script element shared by all
    /// charts of the page. The static image is removed only once plotly.js is there to draw.
    /// </summary>
    private const string Script = """
          function draw(Plotly, attempt) {
            var node = document.getElementById(id);
            if (!node) {
              if ((attempt || 0) < 50) setTimeout(function () { draw(Plotly, (attempt || 0) + 1); }, 100);
              return;
            }
            if (!Plotly || typeof Plotly.newPlot !== "function") return;
            node.innerHTML = "";
            Plotly.newPlot(node, figure.data, figure.layout, figure.config);
          }
          if (window.Plotly) { draw(window.Plotly); return; }
          if (typeof window.define === "function" && window.define.amd && typeof window.require === "function" && window.require.config) {
            window.require.config({ paths: { "distillsharp-plotly": src.replace(/\.js$/, "") } });
            window.require(["distillsharp-plotly"], function (Plotly) { window.Plotly = window.Plotly || Plotly; draw(Plotly); },
              function () { console.warn("DistillSharp: could not load " + src + "; the chart's static image stays"); });
            return;
          }
          var loading = window.distillSharpPlotly;
          if (!loading) {
            loading = window.distillSharpPlotly = new Promise(function (resolve, reject) {
              var script = document.createElement("script");
              script.src = src;
              script.onload = function () { if (window.Plotly) resolve(window.Plotly); else reject(new Error(src + " did not define Plotly")); };
              script.onerror = function () { window.distillSharpPlotly = null; reject(new Error("could not load " + src)); };
              document.head.appendChild(script);
            });
          }
          loading.then(function (Plotly) { draw(Plotly); }, function (e) { console.warn("DistillSharp: " + e.message + "; the chart's static image stays"); });

        """;

    /// <summary>An element id unique in this process and the same for the same chart in the same place of a re-run.</summary>
    private static string Id(string figureJson)
    {
        var n = Interlocked.Increment(ref sequence);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(figureJson)))[..12];
        return $"{hash}-{n}";
    }

    private static (int Width, int Height, string? Title) SizeAndTitle(string figureJson)
    {
        var layout = JsonNode.Parse(figureJson)?["layout"];
        int Size(string key, int fallback) => layout?[key] is JsonValue v && v.TryGetValue(out double d) ? (int)Math.Round(d) : fallback;
        var title = layout?["title"] switch
        {
            JsonObject o when o["text"] is JsonValue t && t.TryGetValue(out string? s) => s,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => null,
        };
        return (Size("width", 700), Size("height", 450), title);
    }

    private static void SayOnce(string message)
    {
        if (Said.TryAdd(message, true))
        {
            Notice(message);
        }
    }

    private static string FirstSentence(string message)
    {
        var line = message.Split('\n')[0].Trim();
        var end = line.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? line[..end] : line.TrimEnd('.');
    }

    /// <summary>Why SkiaSharp's native library cannot be used here, or null when it can (checked once).</summary>
    private static string? NativeProblem()
    {
        lock (NativeGate)
        {
            if (nativeChecked) return nativeProblem;
            try
            {
                using var bitmap = new SKBitmap(1, 1);
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException)
            {
                var inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
                nativeProblem = $"SkiaSharp's native library (libSkiaSharp) could not be loaded ({inner.GetType().Name}: {FirstSentence(inner.Message)}); "
                                + "build the repository with 'dotnet build -c Release', which puts it beside DistillSharp.dll";
            }
            nativeChecked = true;
            return nativeProblem;
        }
    }
}

/// <summary>
/// Finds SkiaSharp's native library beside DistillSharp.dll when the host's own search fails: under .NET Interactive,
/// SkiaSharp.dll comes from the NuGet cache with no native library beside it, and the build copies
/// <c>runtimes/linux-x64/native/libSkiaSharp.so</c> beside DistillSharp.dll (lib/build/LibraryNatives.targets). In an
/// application's output (the distill program, the tests) deps.json finds it first and this is never asked.
/// </summary>
internal static class SkiaNativeResolver
{
    private static int installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 1) return;
        var skia = typeof(SKBitmap).Assembly;
        if (AssemblyLoadContext.GetLoadContext(skia) is not { } context) return;
        context.ResolvingUnmanagedDll += (assembly, name) => assembly == skia && name.Contains("SkiaSharp", StringComparison.Ordinal) ? LoadBeside() : IntPtr.Zero;
    }

    private static IntPtr LoadBeside()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return IntPtr.Zero;
        var dll = typeof(SkiaNativeResolver).Assembly.Location;
        if (string.IsNullOrEmpty(dll)) return IntPtr.Zero;
        var path = Path.Combine(Path.GetDirectoryName(dll)!, "runtimes", "linux-x64", "native", "libSkiaSharp.so");
        return File.Exists(path) && NativeLibrary.TryLoad(path, out var handle) ? handle : IntPtr.Zero;
    }
}
