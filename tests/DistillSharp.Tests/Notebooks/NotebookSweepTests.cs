using System.Globalization;
using DistillSharp.Cli;
using DistillSharp.Notebooks;
using static DistillSharp.Tests.Notebooks.NotebookFixtures;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Notebooks;

public sealed class NotebookSweepTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("distill-sweep-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    // The "result" is a known function of the parameters: score = 10 * alpha + seed.
    private static Notebook ScoreNotebook() => Create(
        Parameters("double alpha = 1;\nint seed = 0;"),
        Code("record Row(string Method, double Score);\nDistillSharp.Reporting.NotebookResults.Save(new[] { new Row(\"kd\", 10 * alpha + seed) });"));

    [Fact]
    public void ASweepRunsEveryCombinationInItsOwnProcessAndSummarisesOverSeeds()
    {
        var input = Write(ScoreNotebook(), folder, "score.ipynb");
        var output = Path.Combine(folder, "sweep");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(["sweep", input, "-p", "alpha=2,3", "-p", "seed=1,2", "--jobs", "2", "--out", output], stdout, stderr);
        Assert.True(code == 0, stdout + "\n" + stderr);

        var results = CsvTable.Read(Path.Combine(output, "results.csv"));
        Assert.Equal(new[] { "alpha", "seed", "Method", "Score" }, results.Columns);
        Assert.Equal(
            new[] { "2,1,kd,21", "2,2,kd,22", "3,1,kd,31", "3,2,kd,32" },
            results.Rows.Select(r => string.Join(",", r)).Order());

        var summary = CsvTable.Read(Path.Combine(output, "summary.csv"));
        Assert.Equal(new[] { "alpha", "Method", "n", "Score_mean", "Score_std" }, summary.Columns);
        Assert.Equal(2, summary.Rows.Count);
        var two = summary.Rows.Single(r => r[0] == "2");
        Assert.Equal(("2", 21.5), (two[2], double.Parse(two[3], CultureInfo.InvariantCulture)));
        Assert.Equal(Math.Sqrt(0.5), double.Parse(two[4], CultureInfo.InvariantCulture), 12);   // sd of {21, 22}
        Assert.Equal(31.5, double.Parse(summary.Rows.Single(r => r[0] == "3")[3], CultureInfo.InvariantCulture));

        var html = File.ReadAllText(Path.Combine(output, "summary.html"));
        Assert.Contains("<script src=\"https://cdn.plot.ly/plotly-", html);
        Assert.Contains("\"error_y\"", html);
        Assert.Contains("Score: mean ± sd over seed", html);
        Assert.Equal(4, Directory.GetFiles(output, "run*.ipynb").Length);                      // every executed notebook kept
        Assert.Equal(5, File.ReadAllLines(Path.Combine(output, "runs.csv")).Length);
    }

    [Fact]
    public void AFailedRunIsReportedAndTheSweepExitsNonZero()
    {
        var notebook = Create(Parameters("int seed = 0;"), Code("if (seed == 2) throw new InvalidOperationException(\"seed 2 fails\");"));
        var input = Write(notebook, folder, "flaky.ipynb");
        var output = Path.Combine(folder, "flaky");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(["sweep", input, "-p", "seed=2", "--out", output], stdout, stderr);

        Assert.Equal(CliApp.NotebookFailed, code);
        var partial = Path.Combine(output, "run001_seed-2.ipynb");
        Assert.Contains($"seed=2: exit code 1; partial notebook: {partial}", stderr.ToString());
        var error = Assert.IsType<ErrorOutput>(Assert.Single(NotebookFile.Read(partial).Cells[2].Outputs));
        Assert.Equal("seed 2 fails", error.Value);
    }

    [Fact]
    public void BadSweepValuesAreCaughtBeforeAnythingRuns()
    {
        var input = Write(ScoreNotebook(), folder, "score.ipynb");
        var stderr = new StringWriter();
        int code = CliApp.Run(["sweep", input, "-p", "seed=1,two", "--out", Path.Combine(folder, "never")], new StringWriter(), stderr);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: parameter 'seed' is an int; 'two' is not an int.", stderr.ToString().Trim());
        Assert.False(Directory.Exists(Path.Combine(folder, "never")));
    }

    [Fact]
    public void CombinationsAndSummariesFollowTheDocumentedRules()
    {
        var combos = NotebookSweep.Combinations([new("a", ["1", "2"]), new("seed", ["7", "8", "9"])]);
        Assert.Equal(6, combos.Count);
        Assert.Equal("a=1 seed=8", string.Join(" ", combos[1].Select(p => $"{p.Key}={p.Value}")));

        // Text result columns are part of the setting; numeric ones are averaged; n counts the rows.
        var results = new CsvTable(["a", "seed", "method", "acc"]);
        results.Add("1", "7", "kd", "0.5");
        results.Add("1", "8", "kd", "0.7");
        results.Add("1", "7", "crd", "0.9");
        var summary = NotebookSweep.Summarize(results, ["a", "seed"]);
        Assert.Equal(new[] { "a", "method", "n", "acc_mean", "acc_std" }, summary.Columns);
        Assert.Equal(new[] { "1", "kd", "2" }, summary.Rows[0][..3]);
        Assert.Equal(0.6, double.Parse(summary.Rows[0][3], CultureInfo.InvariantCulture), 12);
        Assert.Equal(Math.Sqrt(0.02), double.Parse(summary.Rows[0][4], CultureInfo.InvariantCulture), 12);   // sd of {0.5, 0.7}
        Assert.Equal(new[] { "1", "crd", "1", "0.9", "" }, summary.Rows[1]);                                   // one value: no sd
    }
}
