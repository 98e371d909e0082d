using System.Diagnostics;
using DistillSharp.Notebooks;
using DistillSharp.Reporting;
using SkiaSharp;

namespace DistillSharp.Tests.Reporting;

/// <summary>
/// A chart output in a real browser: a one-cell notebook with ChartOutput's bundle, exported to HTML by nbconvert
/// and shot by headless Chromium, with scripts (plotly.js must draw it) and sanitized as script-less viewers show
/// it (the static PNG must be there, pixel for pixel).
/// </summary>
public sealed class ChartBrowserTests
{
    private static readonly SKColor First = new(0x63, 0x6e, 0xfa);
    private static readonly SKColor Second = new(0xef, 0x55, 0x3b);
    private static readonly SKColor PlotBackground = new(0xe5, 0xec, 0xf6);

    [ChromiumFact]
    public void ANotebooksChartDrawsWithScriptsAndShowsItsPngWithout()
    {
        var folder = Directory.CreateTempSubdirectory("distill-chart-browser-").FullName;
        try
        {
            // plotly.js beside the page, loaded by the chart's own loader (the bundle names it as the CDN URL would be).
            File.Copy(BrowserTools.PlotlyJs!, Path.Combine(folder, "plotly.min.js"));
            var chart = TrainingCharts.SoftenedDistributions([3.0, -2.0, 2.5, 0.5, 2.0], [1, 4], ["shirt", "trouser", "pullover", "dress", "coat"]);
            var bundle = ChartOutput.Bundle(chart, "plotly.min.js");
            var result = new ExecuteResultOutput { ExecutionCount = 1 };
            result.SetData(bundle);
            var cell = NotebookCell.Code("TrainingCharts.SoftenedDistributions(z, temperatures, classes)");
            cell.ExecutionCount = 1;
            cell.Outputs.Add(result);
            var notebook = Notebook.CreateCSharp();
            notebook.Cells.Add(cell);
            NotebookFile.Write(notebook, Path.Combine(folder, "chart.ipynb"));

            Nbconvert(folder, "scripts");
            Nbconvert(folder, "static", "--HTMLExporter.sanitize_html=True");
            // nbconvert's page loads require.js (Debian's from /usr/share/javascript, upstream's from a CDN: made local here).
            var requireJs = new System.Text.RegularExpressions.Regex("<script src=\"[^\"]*require(\\.min)?\\.js\"></script>");
            var exported = File.ReadAllText(Path.Combine(folder, "scripts.html"));
            Assert.Matches(requireJs, exported);
            File.WriteAllText(Path.Combine(folder, "scripts.html"),
                requireJs.Replace(exported, $"<script src=\"{new Uri(BrowserTools.RequireJs).AbsoluteUri}\"></script>", 1));
            File.WriteAllText(Path.Combine(folder, "plain.html"), requireJs.Replace(exported, ""));

            // With require.js on the page (nbconvert's export): plotly.js comes through the page's AMD loader.
            var amdDom = Chromium(folder, "scripts.html", "amd.png");
            Assert.Contains("data-requiremodule=\"distillsharp-plotly\"", amdDom);
            AssertDrawnByPlotly(amdDom, Path.Combine(folder, "amd.png"));

            // Without any loader (as in JupyterLab and VS Code): a plain <script src>.
            var plainDom = Chromium(folder, "plain.html", "plain.png");
            Assert.DoesNotContain("requiremodule", plainDom);
            Assert.Contains("<script src=\"plotly.min.js\"></script>", plainDom);
            AssertDrawnByPlotly(plainDom, Path.Combine(folder, "plain.png"));

            // Sanitized (scripts stripped, as GitHub and nbviewer-like viewers do): the PNG itself is shown.
            var staticDom = Chromium(folder, "static.html", "static.png");
            Assert.DoesNotContain("main-svg", staticDom);
            using var png = SKBitmap.Decode(Convert.FromBase64String(bundle[ChartOutput.PngMimeType]));
            using var shot = SKBitmap.Decode(Path.Combine(folder, "static.png"));
            var (dx, dy) = Offset(png, shot);
            int same = 0;
            for (int y = 0; y < png.Height; y++)
            {
                for (int x = 0; x < png.Width; x++)
                {
                    if (Close(png.GetPixel(x, y), shot.GetPixel(x + dx, y + dy), 6)) same++;
                }
            }
            var share = (double)same / (png.Width * png.Height);
            Assert.True(share > 0.99, $"{share:P2} of the PNG's pixels are in the screenshot at ({dx}, {dy})");
        }
        finally
        {
            // DISTILL_BROWSER_SHOTS=folder keeps the pages and screenshots to look at.
            if (Environment.GetEnvironmentVariable("DISTILL_BROWSER_SHOTS") is { Length: > 0 } keep)
            {
                Directory.CreateDirectory(keep);
                foreach (var file in Directory.GetFiles(folder).Where(f => f.EndsWith(".png", StringComparison.Ordinal) || f.EndsWith(".html", StringComparison.Ordinal)))
                {
                    File.Copy(file, Path.Combine(keep, Path.GetFileName(file)), overwrite: true);
                }
            }
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>plotly.js drew the chart (its SVG is in the page, the static image is gone) in the traces' colours.</summary>
    private static void AssertDrawnByPlotly(string dom, string screenshot)
    {
        Assert.Contains("class=\"main-svg\"", dom);
        Assert.DoesNotContain("(static image)", dom);
        using var shot = SKBitmap.Decode(screenshot);
        Assert.True(Count(shot, First) > 1000, $"{Count(shot, First)} pixels of the first trace's colour");
        Assert.True(Count(shot, Second) > 1000, $"{Count(shot, Second)} pixels of the second trace's colour");
        Assert.True(Count(shot, PlotBackground) > 100_000, $"{Count(shot, PlotBackground)} pixels of the plot area");
    }

    /// <summary>Where the PNG sits in the screenshot: the first plot-background pixel of each, lined up.</summary>
    private static (int Dx, int Dy) Offset(SKBitmap png, SKBitmap shot)
    {
        static (int, int) FirstOf(SKBitmap b, SKColor c)
        {
            for (int y = 0; y < b.Height; y++)
            {
                for (int x = 0; x < b.Width; x++)
                {
                    if (b.GetPixel(x, y) == c) return (x, y);
                }
            }
            throw new Xunit.Sdk.XunitException($"no pixel of {c} in a {b.Width}×{b.Height} image");
        }
        var (px, py) = FirstOf(png, PlotBackground);
        var (sx, sy) = FirstOf(shot, PlotBackground);
        var (dx, dy) = (sx - px, sy - py);
        Assert.True(dx >= 0 && dy >= 0 && dx + png.Width <= shot.Width && dy + png.Height <= shot.Height,
            $"the PNG ({png.Width}×{png.Height}) does not fit the screenshot ({shot.Width}×{shot.Height}) at ({dx}, {dy})");
        return (dx, dy);
    }

    private static bool Close(SKColor a, SKColor b, int tolerance) =>
        Math.Abs(a.Red - b.Red) <= tolerance && Math.Abs(a.Green - b.Green) <= tolerance && Math.Abs(a.Blue - b.Blue) <= tolerance;

    private static int Count(SKBitmap bitmap, SKColor color) => bitmap.Pixels.Count(p => Close(p, color, 2));

    private static void Nbconvert(string folder, string output, params string[] options)
    {
        var (code, _, error) = Run(BrowserTools.Python, folder, ["-m", "nbconvert", "--to", "html", .. options, "--output", output, "chart.ipynb"]);
        Assert.True(code == 0, $"nbconvert exited with {code}: {error}");
    }

    /// <summary>Loads a page of <paramref name="folder"/> in headless Chromium: the screenshot to a file, the DOM returned.</summary>
    private static string Chromium(string folder, string page, string screenshot)
    {
        var profile = Directory.CreateTempSubdirectory("distill-chromium-").FullName;
        try
        {
            var (code, dom, error) = Run(BrowserTools.Chromium!, folder,
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--host-resolver-rules=MAP * ~NOTFOUND", $"--user-data-dir={profile}", "--window-size=1400,1000",
                "--virtual-time-budget=20000", $"--screenshot={Path.Combine(folder, screenshot)}", "--dump-dom",
                new Uri(Path.Combine(folder, page)).AbsoluteUri,
            ]);
            Assert.True(code == 0 && File.Exists(Path.Combine(folder, screenshot)), $"chromium exited with {code}: {error}");
            return dom;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(string program, string folder, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish in 120 s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>What the browser test needs, found where .ci/install-chromium.sh installs it.</summary>
internal static class BrowserTools
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Debian's require.js (libjs-requirejs).</summary>
    public const string RequireJs = "/usr/share/javascript/requirejs/require.min.js";

    private static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Chromium: <c>$CHROMIUM</c>, else Debian's /usr/bin/chromium.</summary>
    public static string? Chromium =>
        Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } c && File.Exists(c) ? c : File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium" : null;

    /// <summary>plotly.js from the npm package plotly.js-dist-min under artifacts/browser/.</summary>
    public static string? PlotlyJs
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "DistillSharp.sln")))
                {
                    var path = Path.Combine(folder.FullName, "artifacts", "browser", "node_modules", "plotly.js-dist-min", "plotly.min.js");
                    return File.Exists(path) ? path : null;
                }
            }
            return null;
        }
    }

    /// <summary>What is missing, or null when the test can run.</summary>
    public static string? MissingTools => Missing.Value;

    private static string? FindMissing()
    {
        var missing = new List<string>();
        if (Chromium is null) missing.Add("chromium");
        if (!HasNbconvert()) missing.Add("python3-nbconvert");
        if (!File.Exists(RequireJs)) missing.Add("libjs-requirejs");
        if (PlotlyJs is null) missing.Add("artifacts/browser/node_modules/plotly.js-dist-min");
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    private static bool HasNbconvert()
    {
        if (!File.Exists(Python)) return false;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(Python, ["-c", "import nbconvert"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit(TimeSpan.FromSeconds(60));
            return process.HasExited && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

/// <summary>A fact that runs where Chromium, nbconvert, require.js and plotly.js are installed (.ci/install-chromium.sh).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (BrowserTools.MissingTools is { } missing)
        {
            Skip = $"the browser test needs {missing}: run .ci/install-chromium.sh";
        }
    }
}
