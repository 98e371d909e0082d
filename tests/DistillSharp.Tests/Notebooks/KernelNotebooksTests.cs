using DistillSharp.Reporting;
using DistillSharp.Tests.Support;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// Every notebook of the repository runs at <c>profile=smoke</c> under the real .NET Interactive C# kernel, driven
/// by Jupyter's own client (.ci/notebooks-kernel.sh, which installs the kernel and Debian's nbclient when they are
/// missing), as a reader who opens it in Jupyter runs it; and its results table there equals the one the headless
/// runner (<c>distill run</c>) makes at the same seed, in every column but <c>seconds</c>. A cell that fails under the
/// kernel fails the test with the cell named.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class KernelNotebooksTests
{
    /// <summary>The one column that may differ between the two runs: wall time.</summary>
    private const string TimeColumn = "seconds";

    public static TheoryData<string> Notebooks() => RepositoryNotebooksTests.Notebooks();

    [SmokeNotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task RunsUnderTheKernelWithoutACellError(string name)
    {
        var run = await SmokeRuns.UnderKernel(name);
        Assert.True(run.Ended, $"{name} did not finish under the kernel within {SmokeRuns.KernelTimeout.TotalMinutes:F0} minutes:\n{Tail(run.Log)}");
        Assert.True(run.ExitCode == 0, $"{name} under the .net-csharp kernel (exit code {run.ExitCode}):\n{run.Messages}\n{Tail(run.Log)}");
        Assert.True(File.Exists(run.ResultsPath), $"{name} saved no results table under the kernel (NotebookResults.Save) at {run.ResultsPath}");
    }

    [SmokeNotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task GivesTheSameResultsTableAsTheRunner(string name)
    {
        var kernel = await SmokeRuns.UnderKernel(name);
        var runner = await SmokeRuns.ThroughRunner(name);
        Assert.True(kernel.ExitCode == 0 && File.Exists(kernel.ResultsPath), $"{name} did not run under the kernel: {kernel.Messages}");
        Assert.True(runner.Result.Succeeded && File.Exists(runner.ResultsPath), $"{name} did not run through the runner: {runner.Result.Failure}");

        var differences = Differences(CsvTable.Read(runner.ResultsPath), CsvTable.Read(kernel.ResultsPath));
        Assert.True(differences.Count == 0,
            $"{name}: the results tables of distill run and of the kernel differ (all columns but '{TimeColumn}' must agree at the same seed):\n"
            + string.Join("\n", differences));
    }

    /// <summary>
    /// A chart made under the kernel carries the static representations too (KernelChartFormatting), so a notebook
    /// executed in Jupyter and committed still shows its charts where no script runs: a PNG that decodes, and HTML that
    /// does not start with Plotly.NET.Interactive's require.js loader.
    /// </summary>
    [SmokeNotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task ChartsMadeUnderTheKernelCarryAPngAndHtmlWithoutRequireJs(string name)
    {
        var kernel = await SmokeRuns.UnderKernel(name);
        Assert.True(kernel.ExitCode == 0, $"{name} did not run under the kernel: {kernel.Messages}");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(kernel.NotebookPath));
        var bundles = document.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.TryGetProperty("outputs", out _))
            .SelectMany(c => c.GetProperty("outputs").EnumerateArray())
            .Where(o => o.TryGetProperty("data", out var d) && d.TryGetProperty("text/plain", out var t) && Text(t).StartsWith("Plotly chart", StringComparison.Ordinal))
            .Select(o => o.GetProperty("data")).ToList();
        Assert.NotEmpty(bundles);
        foreach (var data in bundles)
        {
            Assert.True(data.TryGetProperty(ChartOutput.PngMimeType, out var png), $"{name}: a chart without its PNG under the kernel");
            var bytes = Convert.FromBase64String(Text(png));
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
            Assert.True(data.TryGetProperty(ChartOutput.HtmlMimeType, out var html));
            Assert.DoesNotContain("requirejs.config", Text(html)[..Math.Min(400, Text(html).Length)]);
        }
    }

    private static string Text(System.Text.Json.JsonElement e) =>
        e.ValueKind == System.Text.Json.JsonValueKind.Array ? string.Concat(e.EnumerateArray().Select(x => x.GetString())) : e.GetString() ?? "";

    /// <summary>Every way two results tables differ, ignoring <see cref="TimeColumn"/>.</summary>
    internal static List<string> Differences(CsvTable runner, CsvTable kernel)
    {
        var differences = new List<string>();
        var columns = runner.Columns.Where(c => c != TimeColumn).ToList();
        var kernelColumns = kernel.Columns.Where(c => c != TimeColumn).ToList();
        if (!columns.SequenceEqual(kernelColumns))
        {
            differences.Add($"columns: runner [{string.Join(", ", columns)}], kernel [{string.Join(", ", kernelColumns)}]");
            return differences;
        }
        if (runner.Rows.Count != kernel.Rows.Count)
        {
            differences.Add($"rows: runner {runner.Rows.Count}, kernel {kernel.Rows.Count}");
        }
        for (int r = 0; r < Math.Min(runner.Rows.Count, kernel.Rows.Count); r++)
        {
            foreach (var column in columns)
            {
                if (runner.Get(r, column) != kernel.Get(r, column))
                {
                    differences.Add($"row {r + 1}, {column}: runner '{runner.Get(r, column)}', kernel '{kernel.Get(r, column)}'");
                }
            }
        }
        return differences;
    }

    [Fact]
    public void TablesThatDifferOnlyInSecondsAreTheSame()
    {
        var a = new CsvTable(["label", "final_top1", TimeColumn]);
        a.Add("KD", "83.49", "77.1");
        var b = new CsvTable(["label", "final_top1", TimeColumn]);
        b.Add("KD", "83.49", "91.4");
        Assert.Empty(Differences(a, b));

        var c = new CsvTable(["label", "final_top1", TimeColumn]);
        c.Add("KD", "83.50", "77.1");
        Assert.Equal(["row 1, final_top1: runner '83.49', kernel '83.50'"], Differences(a, c));
        Assert.StartsWith("columns:", Differences(a, new CsvTable(["label", TimeColumn]))[0]);
        Assert.Equal(["rows: runner 1, kernel 0"], Differences(a, new CsvTable(["label", "final_top1", TimeColumn])));
    }

    private static string Tail(string log) => string.Join("\n", log.Split('\n').TakeLast(30));
}
